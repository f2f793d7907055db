package heyken.actors.services;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.protocol.api.service.ServiceRequest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a service request may say, and the 400 that says what is wrong. */
class ServiceSpecTest {

  private static ServiceSpec.Validated validate(String name, List<String> ports) {
    return ServiceSpec.validate(new ServiceRequest(name, "sandbox/busybox:1", Map.of("A", "1"), ports,
        List.of("httpd", "-f"), null, null), "127.0.0.1");
  }

  @Test
  void namesAreDnsLabelLikeAndBounded() {
    for (String ok : List.of("web", "a", "my-service-2", "x".repeat(40))) {
      assertNull(validate(ok, null).problem(), ok);
    }
    for (String bad : List.of("", "Web", "-web", "web-", "2web", "we_b", "we.b", "../etc", "x".repeat(41),
        "web service", "wéb")) {
      var problem = validate(bad, null).problem();
      assertNotNull(problem, bad);
      assertEquals(400, problem.status());
      assertEquals("invalid_name", problem.error());
    }
  }

  @Test
  void portsBindLoopbackUnlessAnAddressIsGiven() {
    var spec = validate("web", List.of("8080:80", "0.0.0.0:9090:90/udp")).spec();
    assertEquals(new ServiceSpec.PortBinding("127.0.0.1", 8080, 80, "tcp"), spec.ports().get(0));
    assertEquals(new ServiceSpec.PortBinding("0.0.0.0", 9090, 90, "udp"), spec.ports().get(1));
  }

  @Test
  void malformedOrOutOfRangePortsAreRefused() {
    for (String bad : List.of("80", "a:b", "70000:80", "0:80", "8080:80/sctp", "8080:80:90")) {
      assertEquals("invalid_ports", validate("web", List.of(bad)).problem().error(), bad);
    }
    assertEquals("invalid_ports", validate("web", List.of("8080:80", "8080:81")).problem().error());
  }

  @Test
  void healthcheckRestartAndImageAreChecked() {
    var noTest = new ServiceRequest("web", "sandbox/busybox:1", null, null, null,
        new ServiceRequest.Healthcheck(List.of(), "5s", null, null, null), null);
    assertEquals("invalid_healthcheck", ServiceSpec.validate(noTest, "127.0.0.1").problem().error());
    var badInterval = new ServiceRequest("web", "sandbox/busybox:1", null, null, null,
        new ServiceRequest.Healthcheck(List.of("true"), "soon", null, null, null), null);
    assertTrue(ServiceSpec.validate(badInterval, "127.0.0.1").problem().detail().contains("interval"));
    var good = new ServiceRequest("web", "sandbox/busybox:1", null, null, null,
        new ServiceRequest.Healthcheck(List.of("wget", "-q", "http://127.0.0.1:8080/"), "500ms", "2s", 3, null),
        "on-failure");
    var spec = ServiceSpec.validate(good, "127.0.0.1").spec();
    assertEquals(List.of("CMD", "wget", "-q", "http://127.0.0.1:8080/"), spec.healthcheck().test());
    assertEquals(500, spec.healthcheck().intervalMillis());
    assertEquals("on-failure", spec.restart());
    var badRestart = new ServiceRequest("web", "sandbox/busybox:1", null, null, null, null, "sometimes");
    assertEquals("invalid_restart", ServiceSpec.validate(badRestart, "127.0.0.1").problem().error());
    var noImage = new ServiceRequest("web", " ", null, null, null, null, null);
    assertEquals("invalid_image", ServiceSpec.validate(noImage, "127.0.0.1").problem().error());
    var badEnv = new ServiceRequest("web", "sandbox/busybox:1", Map.of("1X", "y"), null, null, null, null);
    assertEquals("invalid_env", ServiceSpec.validate(badEnv, "127.0.0.1").problem().error());
  }

  @Test
  void theSpecDigestChangesWithWhatShapesTheContainer() {
    var a = validate("web", List.of("8080:80")).spec();
    var b = validate("web", List.of("8081:80")).spec();
    assertEquals(a.hash(), validate("web", List.of("8080:80")).spec().hash());
    assertNotEquals(a.hash(), b.hash());
  }
}
