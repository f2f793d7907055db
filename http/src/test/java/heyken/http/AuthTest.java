package heyken.http;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class AuthTest {

  private static java.util.Optional<String> problem(String host, String mode, String token) {
    return Auth.startupProblem(ConfigFactory.parseString(
        "heyken { bind-host = \"" + host + "\", auth { mode = " + mode + ", api-token = \"" + token + "\" } }"));
  }

  @Test
  void bindingANonLoopbackAddressWithoutATokenRefusesToStart() {
    var p = problem("0.0.0.0", "on", "");
    assertTrue(p.isPresent());
    assertTrue(p.get().contains("HEYKEN_API_TOKEN"), p.get());
  }

  @Test
  void bindingANonLoopbackAddressWithAuthOffRefusesToStart() {
    assertTrue(problem("10.0.0.5", "off", "secret").isPresent());
  }

  @Test
  void loopbackOrATokenIsAccepted() {
    assertTrue(problem("127.0.0.1", "on", "").isEmpty());
    assertTrue(problem("127.0.0.1", "off", "").isEmpty());
    assertTrue(problem("0.0.0.0", "on", "secret").isEmpty());
  }
}
