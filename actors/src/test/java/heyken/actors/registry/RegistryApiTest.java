package heyken.actors.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import heyken.actors.registry.ComponentRegistry.Refusal;
import heyken.actors.registry.ComponentRegistry.Refusal.Kind;
import heyken.protocol.api.ComponentRegistration;
import heyken.protocol.api.Problem;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a caller of /api/components reads when the registry refuses: each refusal's status, error and detail exactly
 * as the registry and its validation wrote them before they answered in their own terms. The validation refusals
 * come from {@link ComponentRegistry#validate} itself, on the bad input that causes them.
 */
class RegistryApiTest {

  private final Set<Kind> seen = EnumSet.noneOf(Kind.class);

  private void assertProblem(int status, String error, String detail, Refusal refused) {
    seen.add(refused.kind());
    assertEquals(new Problem(status, error, detail), RegistryApi.problem(refused), refused.kind().name());
  }

  private static Refusal validate(String name, String url, String healthUrl, String version) {
    return ComponentRegistry.validate(new ComponentRegistration(name, url, healthUrl, version));
  }

  @Test
  void everyRefusalKindReadsAsTheProblemTheRegistrySentBefore() {
    assertProblem(400, "invalid_registration", "body must be a JSON object with name and url",
        ComponentRegistry.validate(null));
    assertProblem(400, "invalid_name", "name is required", validate("", "http://h/", null, null));
    assertProblem(400, "invalid_name", "name must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a "
        + "letter or digit", ComponentRegistry.validateName("-Bad"));
    assertProblem(400, "invalid_url", "url is required", validate("web", null, null, null));
    assertProblem(400, "invalid_health_url", "health_url is longer than 2048 characters",
        validate("web", "http://h/", "http://h/" + "a".repeat(2048), null));
    assertProblem(400, "invalid_url", "url must be an absolute http(s)://, mongodb:// or tcp:// URL with a host",
        validate("web", "ftp://h/", null, null));
    assertProblem(400, "invalid_url", "url is not a URL: Illegal character in path",
        validate("web", "http://h/a b", null, null));
    assertProblem(400, "invalid_version", "version must be at most 64 printable characters",
        validate("web", "http://h/", null, "1\n2"));
    assertProblem(404, "unknown_component", "no component named 'web' is registered; GET /api/components lists them",
        new Refusal(Kind.UNKNOWN_COMPONENT, "web", null, null, 0));
    assertProblem(503, "no_active_core", "core 2 is not the active core yet (a hand-over is in progress); retry in a "
        + "moment", new Refusal(Kind.NO_ACTIVE_CORE, null, null, null, 2));
    assertProblem(503, "not_active", "epoch 4 was superseded by epoch 5: this core is no longer active",
        Refusal.url(Kind.NOT_ACTIVE, null, "epoch 4 was superseded by epoch 5: this core is no longer active"));
    assertProblem(503, "store_unavailable", "the store did not confirm the write (connection refused); nothing was "
        + "changed, try again", Refusal.url(Kind.STORE_UNAVAILABLE, null, "connection refused"));
    assertEquals(EnumSet.allOf(Kind.class), seen, "every kind has its problem asserted here");
  }

  @Test
  void aValidRegistrationIsNoRefusalAndAReplyIsReadFromEitherShape() {
    assertNull(validate("web", "http://h:8080/", "https://h/health", "1.2"));
    assertNull(RegistryApi.problem((Refusal) null));
    var unknown = new Refusal(Kind.UNKNOWN_COMPONENT, "web", null, null, 0);
    var reply = ComponentRegistry.Reply.refusing(unknown);
    assertEquals(RegistryApi.problem(unknown), reply.problem(), "the problem older cores read is written beside it");
    assertEquals(RegistryApi.problem(unknown), RegistryApi.problem(reply));
    var old = Problem.notFound("unknown_component", "as an older core said it");
    assertEquals(old, RegistryApi.problem(new ComponentRegistry.Reply(null, null, old, null)));
    assertNull(RegistryApi.problem(ComponentRegistry.Reply.of(null)));
  }
}
