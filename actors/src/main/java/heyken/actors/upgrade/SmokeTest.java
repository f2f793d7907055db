package heyken.actors.upgrade;

import heyken.actors.feature.FeatureService;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The verification window's smoke run of the seed's flow on the new version: a small built-in shell feature is
 * created, tested in the sandbox, deployed and invoked, then deleted. Blocking: call it on the blocking dispatcher.
 */
final class SmokeTest {

  static final String GREET = "read -r request\necho \"upgrade smoke ok\"\n";
  static final String TEST = "out=$(echo '{\"args\":\"x\"}' | sh greet.sh)\n[ \"$out\" = \"upgrade smoke ok\" ] || "
      + "{ echo \"unexpected: $out\"; exit 1; }\necho smoke test passed\n";
  static final String CI = "stages: [test]\nunit:\n  stage: test\n  image: busybox\n  script:\n    - sh test.sh\n";

  private static final Duration STEP = Duration.ofSeconds(30);
  private static final Duration RUN = Duration.ofSeconds(90);

  private final FeatureService features;
  private final String upgradeId;
  private final String by;

  SmokeTest(FeatureService features, String upgradeId) {
    this.features = features;
    this.upgradeId = upgradeId;
    this.by = "upgrade:" + upgradeId;
  }

  /** Null when every step passed, else what failed. */
  String run() {
    String name = "upgrade-smoke-" + upgradeId.replaceAll("[^a-z0-9]", "").substring(0, Math.min(14,
        upgradeId.replaceAll("[^a-z0-9]", "").length()));
    String command = "smoke" + Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    var files = Map.of("heyken.yml", "name: " + name + "\ndescription: upgrade smoke test\ncommand: " + command
        + "\nrun: sh greet.sh\nimage: busybox\n", "greet.sh", GREET, "test.sh", TEST, ".gitlab-ci.yml", CI);
    String id = null;
    try {
      var created = features.create(new CreateFeatureRequest(name, "the upgrade's smoke test", files, null), by)
          .toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
      if (created.problem() != null) {
        return "smoke test: create was refused: " + created.problem().detail();
      }
      id = created.value().featureId();
      var ref = new FeatureRef(id, null, null);
      var run = features.test(ref, by).toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
      if (run.problem() != null) {
        return "smoke test: test was refused: " + run.problem().detail();
      }
      long deadline = System.nanoTime() + RUN.toNanos();
      String status = "running";
      String detail = null;
      while (status.equals("running") && System.nanoTime() < deadline) {
        Thread.sleep(300); // polling the run entity from the blocking pool
        var view = features.run(id, run.value().runId()).toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
        if (view.problem() == null) {
          status = view.value().status();
          detail = view.value().detail();
        }
      }
      if (!status.equals("passed")) {
        return "smoke test: the test run of feature #" + id + " is " + status + (detail == null ? "" : " (" + detail
            + ")");
      }
      var deployed = features.deploy(ref, by).toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
      if (deployed.problem() != null) {
        return "smoke test: deploy was refused: " + deployed.problem().detail();
      }
      var invoked = features.invoke(id, "{\"args\":\"upgrade\"}".getBytes(StandardCharsets.UTF_8))
          .toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
      if (invoked.problem() != null) {
        return "smoke test: invoke was refused: " + invoked.problem().detail();
      }
      if (!invoked.value().ok() || !invoked.value().output().contains("upgrade smoke ok")) {
        return "smoke test: the invocation answered " + invoked.value().reason() + ": " + invoked.value().output()
            + invoked.value().stderr();
      }
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "smoke test interrupted";
    } catch (Exception e) {
      return "smoke test: no answer in time (" + e + ")";
    } finally {
      if (id != null) {
        try {
          features.delete(id, by).toCompletableFuture().get(STEP.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
          // a smoke feature left behind is visible in GET /api/features and harmless
        }
      }
    }
  }
}
