package heyken.actors.feature;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import heyken.actors.chat.ChatNews;
import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.CoreNode;
import heyken.actors.llm.OllamaModel;
import heyken.actors.support.TestStore;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import heyken.sandbox.BubblewrapSandbox;
import heyken.testkit.ollama.OllamaStandIn;
import heyken.testkit.ollama.ScriptedReply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The author loop in one node with real entities (Feature, PipelineRun, FeatureAuthor), bubblewrap sandboxes and the
 * Ollama stand-in: the progress a chat channel sees (plan, each revision, each test result, the deploy prompt), in
 * order, and the approval through the feature's deploy.
 */
class FeatureAuthorTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestStore store;
  private static OllamaStandIn ollama;
  private static ActorTestKit testKit;
  private static TestProbe<DeploymentLedger.Command> ledger;
  private static FeatureService features;
  private static Path dataDir;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(BubblewrapSandbox.class != null && Files.isExecutable(Path.of("/usr/bin/bwrap")),
        "bubblewrap is not installed");
    store = new TestStore();
    ollama = OllamaStandIn.start();
    dataDir = Files.createTempDirectory("heyken-author-test-");
    // sandbox jobs run as uid 65534 in work/ below it
    Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx--x--x"));
    testKit = ActorTestKit.create("author-test", store.config("""
        heyken.core.id = 1
        heyken.data-dir = "%s"
        heyken.sandbox.backend = bubblewrap
        heyken.components.ollama-url = "%s"
        heyken.author.poll-interval = 200ms
        """.formatted(dataDir, ollama.url())));
    var cluster = Cluster.get(testKit.system());
    cluster.manager().tell(new Join(cluster.selfMember().address()));
    heyken.testkit.Await.until("the one-node cluster up", Duration.ofSeconds(20),
        () -> cluster.selfMember().status() == MemberStatus.up());
    ledger = testKit.createTestProbe();
    Feature.init(testKit.system(), ledger.ref());
    PipelineRun.init(testKit.system());
    var catalog = testKit.spawn(FeatureCatalog.create(), "catalog");
    features = new FeatureService(testKit.system(), catalog, new CoreNode(1));
    var model = OllamaModel.create(testKit.system().settings().config());
    var authoring = AuthorSettings.from(testKit.system().settings().config());
    FeatureAuthor.init(testKit.system(), new FeatureAuthor.Wiring(model, features, authoring));
    features.enableAuthoring(authoring, true);
  }

  @AfterAll
  static void stop() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
    if (ollama != null) {
      ollama.close();
    }
    if (store != null) {
      store.close();
    }
    if (dataDir != null) {
      // the git repositories and work folders the authoring made: nothing is left in /tmp
      try {
        heyken.sandbox.JobWorkDir.deleteTree(dataDir);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("could not remove " + dataDir, e);
      }
    }
  }

  private static String plan(String word) {
    var root = JSON.createObjectNode().put("summary", "say it " + word);
    var files = root.putArray("files");
    files.addObject().put("path", "heyken.yml").put("content", "name: echo\ndescription: d\ncommand: echo\nrun: "
        + "python3 main.py\n");
    files.addObject().put("path", "main.py").put("content",
        "import json, sys\nprint('" + word + " ' + json.load(sys.stdin)['args'])\n");
    files.addObject().put("path", "test_main.py").put("content", "import subprocess\nout = subprocess.run("
        + "['python3', 'main.py'], input='{\"args\": \"x\"}', capture_output=True, text=True).stdout\n"
        + "assert out == 'echo x\\n', 'main.py printed ' + repr(out)\n");
    root.put("testCommand", "python3 test_main.py");
    return root.toString();
  }

  @Test
  void theChannelHearsEveryStepAndTheApprovalDeploysThePassingRevision() throws Exception {
    ollama.whenLastMessage("user", "Feature name: echo").times(1).reply(ScriptedReply.json(plan("ECHO")));
    ollama.whenLastMessage("user", "main.py printed 'ECHO x").times(1).reply(ScriptedReply.json(plan("echo")));
    var news = testKit.<ChatNews.Item>createTestProbe();
    ChatNews.get(testKit.system()).subscribe(news.ref());
    // the topic registers the subscriber asynchronously: a line published before would be missed
    news.awaitAssert(Duration.ofSeconds(5), () -> {
      ChatNews.get(testKit.system()).publish(ChatNews.SANDBOX, "probe", null);
      news.expectMessageClass(ChatNews.Item.class, Duration.ofMillis(300));
      return null;
    });

    var created = features.create(new CreateFeatureRequest("echo", "repeats its argument", null, null), "test")
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals("authoring", created.value().status(), String.valueOf(created.problem()));
    String id = created.value().featureId();

    var lines = new ArrayList<String>();
    while (lines.stream().noneMatch(l -> l.contains("waits for approval") || l.contains(" failed: "))) {
      var item = news.receiveMessage(Duration.ofSeconds(60));
      // heyken-system also hears of the failed run of attempt 1 (the gateway's news of failed runs)
      if (!item.text().equals("probe") && item.channel().equals(ChatNews.SANDBOX)) {
        lines.add(item.text());
      }
    }
    var expected = List.of("writing it with llama3", "attempt 1/3: plan: say it ECHO", "attempt 1/3: revision ",
        "attempt 1/3: tests failed", "attempt 2/3: plan: say it echo", "attempt 2/3: revision ",
        "attempt 2/3: tests passed", "waits for approval: an admin says `deploy " + id + "`");
    assertEquals(expected.size(), lines.size(), String.join("\n", lines));
    for (int i = 0; i < expected.size(); i++) {
      assertTrue(lines.get(i).contains(expected.get(i)), "line " + i + ": " + lines.get(i));
    }

    var view = features.get(id).toCompletableFuture().get(10, TimeUnit.SECONDS).value();
    assertEquals("passed", view.status());
    assertEquals("awaiting_approval", view.authoring().state());
    assertEquals("waiting", view.authoring().step());

    // approval: the deploy of the passing revision goes to the DeploymentLedger like any other
    var deploy = features.deploy(new FeatureRef(id, null, null), "admin").toCompletableFuture();
    var question = ledger.expectMessageClass(DeploymentLedger.ActivateDeployment.class, Duration.ofSeconds(10));
    assertEquals(view.headRevision(), question.revision());
    assertEquals("echo", question.command());
    question.replyTo().tell(DeploymentLedger.DeploymentOutcome.made(1, 1));
    assertEquals(view.headRevision(), deploy.get(10, TimeUnit.SECONDS).value().revision());
    var deployed = features.get(id).toCompletableFuture().get(10, TimeUnit.SECONDS).value();
    assertEquals("deployed", deployed.status());
    assertEquals("deployed", deployed.authoring().state());
  }
}
