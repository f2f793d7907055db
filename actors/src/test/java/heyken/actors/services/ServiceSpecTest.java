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
    var spec = validate("web", List.of("8080:80", "127.0.0.2:9090:90/udp")).spec();
    assertEquals(new ServiceSpec.PortBinding("127.0.0.1", 8080, 80, "tcp"), spec.ports().get(0));
    assertEquals(new ServiceSpec.PortBinding("127.0.0.2", 9090, 90, "udp"), spec.ports().get(1));
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

  private static ServicePolicy boundTo(String host) {
    var d = ServicePolicy.DEFAULT;
    return new ServicePolicy(d.memoryBytes(), d.cpus(), d.pids(), d.maxMemoryBytes(), d.maxCpus(), d.maxPids(),
        d.user(), host);
  }

  private static ServiceSpec.Validated withPolicy(List<String> ports, ServiceRequest.Limits limits, String user,
      ServicePolicy policy) {
    return ServiceSpec.validate(new ServiceRequest("web", "sandbox/busybox:1", null, ports, null, null, null, limits,
        user), "127.0.0.1", policy);
  }

  @Test
  void aHostAddressBeyondTheMachineIsRefusedUnlessHeykenItselfBindsIt() {
    var loopback = boundTo("127.0.0.1");
    for (String port : List.of("0.0.0.0:8080:80", "10.0.0.5:8080:80")) {
      var p = withPolicy(List.of(port), null, null, loopback).problem();
      assertNotNull(p, port);
      assertEquals("invalid_ports", p.error());
      assertTrue(p.detail().contains("HEYKEN_BIND_HOST"), p.detail());
    }
    assertNull(withPolicy(List.of("127.0.0.1:8080:80", "8081:81"), null, null, loopback).problem());
    assertNull(withPolicy(List.of("0.0.0.0:8080:80"), null, null, boundTo("0.0.0.0")).problem());
    assertNull(withPolicy(List.of("10.0.0.5:8080:80"), null, null, boundTo("10.0.0.5")).problem());
    assertNotNull(withPolicy(List.of("0.0.0.0:8080:80"), null, null, boundTo("10.0.0.5")).problem());
    // a default host address beyond loopback from the configuration is refused as well, naming the variable
    var viaDefault = ServiceSpec.validate(new ServiceRequest("web", "sandbox/busybox:1", null, List.of("8080:80"),
        null, null, null), "0.0.0.0", loopback).problem();
    assertTrue(viaDefault != null && viaDefault.detail().contains("HEYKEN_SERVICES_HOST_IP"), String.valueOf(viaDefault));
  }

  @Test
  void optionsThatGiveAContainerTheHostAreRefusedByName() {
    for (String option : List.of("privileged", "network_mode", "pid", "ipc", "volumes", "mounts", "binds", "devices",
        "cap_add", "capabilities", "security_opt", "sysctls", "Privileged", "HostConfig")) {
      var p = ServiceSpec.refusedOptions(List.of("name", "image", option));
      assertNotNull(p, option);
      assertEquals("refused_option", p.error());
      assertTrue(p.detail().contains(option), p.detail());
    }
    assertNull(ServiceSpec.refusedOptions(List.of("name", "image", "env", "ports", "command", "healthcheck",
        "restart", "limits", "user")));
  }

  @Test
  void limitsAndUserMayBeGivenWithinTheMaxima() {
    var policy = ServicePolicy.DEFAULT;
    var spec = withPolicy(null, new ServiceRequest.Limits("256m", 0.5, 64), "1000:1000", policy).spec();
    assertEquals(256L << 20, policy.memory(spec));
    assertEquals(0.5, policy.cpus(spec));
    assertEquals(64, policy.pids(spec));
    assertEquals("1000:1000", policy.user(spec));
    var defaults = withPolicy(null, null, null, policy).spec();
    assertEquals(512L << 20, policy.memory(defaults));
    assertEquals(512, policy.pids(defaults));
    assertEquals("65534:65534", policy.user(defaults));
    assertEquals(1 << 30, policy.memory(withPolicy(null, new ServiceRequest.Limits("1g", null, null), null, policy)
        .spec()));
    for (var bad : List.of(new ServiceRequest.Limits("5g", null, null), new ServiceRequest.Limits("1m", null, null),
        new ServiceRequest.Limits("lots", null, null), new ServiceRequest.Limits(null, 64.0, null),
        new ServiceRequest.Limits(null, 0.0, null), new ServiceRequest.Limits(null, null, 0),
        new ServiceRequest.Limits(null, null, 100_000))) {
      var p = withPolicy(null, bad, null, policy).problem();
      assertNotNull(p, bad.toString());
      assertEquals("invalid_limits", p.error());
    }
    assertEquals("invalid_user", withPolicy(null, null, "root; rm -rf /", policy).problem().error());
    assertNull(withPolicy(null, null, "0", policy).problem(), "root may be asked for (still without capabilities)");
  }

  @Test
  void aSpecOfThePreviousVersionTakesTheDefaultsAndIsReplacedOnce() {
    var old = new ServiceSpec("web", "sandbox/busybox:1", Map.of(), List.of(), List.of(), null, "always");
    assertNull(old.limits());
    assertNull(old.user());
    assertEquals(512L << 20, ServicePolicy.DEFAULT.memory(old));
    assertTrue(old.toString().contains("limits=null"), old.toString());
  }
}
