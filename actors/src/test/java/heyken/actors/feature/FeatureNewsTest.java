package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.chat.ChatNews;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.support.TestStore;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A failed test run and a deployment are news in heyken-system; a passed run is not. */
class FeatureNewsTest {

  private static TestStore store;
  private static ActorTestKit testKit;

  @BeforeAll
  static void start() {
    store = new TestStore();
    testKit = ActorTestKit.create("feature-news-test",
        EventSourcedBehaviorTestKit.config().withFallback(store.config("")));
    PipelineRun.init(testKit.system()); // the cluster never forms: run entities never start
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
    store.close();
  }

  @Test
  void aFailedRunAndADeploymentAreAnnouncedInHeykenSystem() {
    var news = testKit.<ChatNews.Item>createTestProbe();
    ChatNews.get(testKit.system()).subscribe(news.ref());
    var ledger = testKit.<DeploymentLedger.Command>createTestProbe();
    var kit = EventSourcedBehaviorTestKit.<Feature.Command, Feature.Event, Feature.State>create(testKit.system(),
        Feature.create("41", ledger.ref()));
    kit.<Feature.FeatureReply>runCommand(r -> new Feature.Create("hello", "says hello", new Feature.RevisionInfo("aaaaaaa1bbbb",
        "commit", "api", Instant.now(), true, true, "hello"), "test", r));

    String failed = kit.<Feature.RunReply>runCommand(r -> new Feature.RunTests(null, "test", r)).reply().run().runId();
    assertEquals(Done.getInstance(), kit.<Done>runCommand(r -> new Feature.RunCompleted(failed, "aaaaaaa1bbbb",
        RunStatus.FAILED, "job test: exit code 1", r)).reply());
    var item = news.receiveMessage(Duration.ofSeconds(5));
    assertEquals(ChatNews.SYSTEM, item.channel());
    assertEquals("Test run " + failed + " of feature #41 'hello' (revision aaaaaaa1) failed: job test: exit code 1. "
        + "Log: GET :5010/api/features/41/runs/" + failed + "/log", item.text());

    String passed = kit.<Feature.RunReply>runCommand(r -> new Feature.RunTests(null, "test", r)).reply().run().runId();
    kit.<Done>runCommand(r -> new Feature.RunCompleted(passed, "aaaaaaa1bbbb", RunStatus.PASSED, "passed", r));
    var replies = testKit.<Feature.DeployReply>createTestProbe();
    kit.runCommand(new Feature.Deploy(null, null, "chat:u1", replies.ref()));
    var question = ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class);
    question.replyTo().tell(DeploymentLedger.DeploymentOutcome.made(2, 9));
    replies.receiveMessage(Duration.ofSeconds(5));
    var deployed = news.receiveMessage(Duration.ofSeconds(5)); // the passed run said nothing
    assertTrue(deployed.text().startsWith("Feature #41 'hello' deployed: revision aaaaaaa1 on core 2 (epoch 9) by "
        + "chat:u1"), deployed.text());
    assertTrue(deployed.key().startsWith("deployed:41:aaaaaaa1bbbb:"), deployed.key());
  }
}
