package heyken.actors.bot;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.services.ServiceEnvRedactionTest;
import org.junit.jupiter.api.Test;

/** The bot's answer to {@code services} never shows an env value of a service. */
class ServiceAnswerRedactionTest {

  @Test
  void theServiceListAnswerHasNoEnvValue() throws Exception {
    var listing = ServiceEnvRedactionTest.api().list().toCompletableFuture().get().value();
    String answer = SystemBotActions.dockerServicesText(listing);
    assertTrue(answer.contains("vault"), answer);
    assertFalse(answer.contains(ServiceEnvRedactionTest.MARKER), answer);
  }
}
