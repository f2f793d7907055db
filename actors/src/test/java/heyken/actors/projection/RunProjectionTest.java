package heyken.actors.projection;

import heyken.testkit.TempDirs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.core.DeploymentLedger;
import heyken.actors.core.CoreNode;
import heyken.actors.feature.Feature;
import heyken.actors.feature.FeatureCatalog;
import heyken.actors.feature.FeatureService;
import heyken.actors.feature.PipelineRun;
import heyken.actors.postgres.PostgresDatabase;
import heyken.actors.postgres.PostgresSettings;
import heyken.actors.support.TestStore;
import heyken.protocol.api.feature.CreateFeatureRequest;
import heyken.protocol.api.feature.FeatureRef;
import heyken.testkit.postgres.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real pipeline run (Feature and PipelineRun entities on the MongoDB journal of an embedded store, jobs in
 * bubblewrap) projected into a real PostgreSQL: the run and its jobs appear in test_runs / sandbox_jobs with their
 * outcome, and a replay of the whole journal from the start changes nothing.
 */
class RunProjectionTest {

  private static TestStore store;
  private static ActorTestKit testKit;
  private static FeatureService features;
  private static PostgresDatabase db;
  private static ExecutorService executor;
  private static Path dataDir;

  @BeforeAll
  static void start() throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/bwrap"))) {
      throw new IllegalStateException("bubblewrap is missing: run scripts/docker-engine.sh (it installs it)");
    }
    store = new TestStore();
    dataDir = Files.createTempDirectory("heyken-projection-test-");
    Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx--x--x"));
    testKit = ActorTestKit.create("projection-test", store.config("""
        heyken.core.id = 1
        heyken.data-dir = "%s"
        heyken.sandbox.backend = bubblewrap
        heyken.author.enabled = false
        """.formatted(dataDir)));
    var cluster = Cluster.get(testKit.system());
    cluster.manager().tell(new Join(cluster.selfMember().address()));
    heyken.testkit.Await.until("the one-node cluster up", Duration.ofSeconds(20),
        () -> cluster.selfMember().status() == MemberStatus.up());
    TestProbe<DeploymentLedger.Command> ledger = testKit.createTestProbe();
    Feature.init(testKit.system(), ledger.ref());
    PipelineRun.init(testKit.system());
    var catalog = testKit.spawn(FeatureCatalog.create(), "catalog");
    features = new FeatureService(testKit.system(), catalog, new CoreNode(1));
    var pg = PostgresServer.shared();
    executor = Executors.newFixedThreadPool(2);
    db = new PostgresDatabase(PostgresSettings.of(pg.host(), pg.port(), pg.createDatabase("projection"), pg.user(),
        pg.password()), executor).startMigrating();
    db.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
    if (db != null) {
      db.close();
      executor.shutdownNow();
    }
    if (store != null) {
      store.close();
    }
    TempDirs.delete(dataDir);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static List<List<Object>> rows(String sql) {
    return db.withConnection(c -> {
      var out = new ArrayList<List<Object>>();
      try (var rs = c.createStatement().executeQuery(sql)) {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          var row = new ArrayList<Object>();
          for (int i = 1; i <= n; i++) {
            row.add(rs.getObject(i));
          }
          out.add(row);
        }
      }
      return out;
    });
  }

  @Test
  void aPipelineRunAppearsWithItsJobsAndAReplayDoesNotDuplicate() throws Exception {
    var files = new java.util.HashMap<>(Map.of(
        "heyken.yml", "name: projected\ndescription: d\ncommand: projected\nrun: echo hi\n",
        ".gitlab-ci.yml", "stages: [build, test]\nbuild:\n  stage: build\n  script: [\"echo built\"]\n"
            + "test:\n  stage: test\n  script: [\"echo testing\", \"exit 3\"]\n")); // a mutable map, as JSON gives
    var created = await(features.create(new CreateFeatureRequest("projected", "for the projection", files, null),
        "alice"));
    assertNotNull(created.value(), String.valueOf(created.problem()));
    String id = created.value().featureId();
    var accepted = await(features.test(new FeatureRef(id, null, null), "alice"));
    assertNotNull(accepted.value(), String.valueOf(accepted.problem()));
    String runId = accepted.value().runId();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String status;
    do {
      Thread.sleep(100); // polling the run with a deadline
      var view = await(features.run(id, runId)).value();
      status = view == null ? "running" : view.status(); // the run entity may not have started yet
    } while (status.equals("running") && System.nanoTime() < deadline);
    assertEquals("failed", status);

    var projection = new RunProjection(testKit.system(), db, new RunProjection.Settings(Duration.ofSeconds(1), 2000,
        Duration.ofSeconds(10)));
    await(projection.pass());
    var runs = rows("SELECT run_id, feature_id, feature_name, status, attempts, job_count, requested_by, "
        + "finished_at IS NOT NULL, duration_ms >= 0 FROM test_runs");
    assertEquals(List.of(List.of(runId, id, "projected", "failed", 1, 2, "alice", true, true)), runs);
    var jobs = rows("SELECT run_id, job_index, job, stage, status, reason, exit_code, backend, feature_name, "
        + "duration_ms >= 0, started_at <= finished_at FROM sandbox_jobs ORDER BY job_index");
    assertEquals(List.of(
        List.of(runId, 0, "build", "build", "passed", "ok", 0, "bubblewrap", "projected", true, true),
        List.of(runId, 1, "test", "test", "failed", "exit", 3, "bubblewrap", "projected", true, true)), jobs);

    // again from the stored offset (the overlap re-reads), then a replay of the whole journal: nothing changes
    await(projection.pass());
    db.withConnection(c -> c.createStatement().executeUpdate("DELETE FROM projection_offsets"));
    await(projection.pass());
    assertEquals(runs, rows("SELECT run_id, feature_id, feature_name, status, attempts, job_count, requested_by, "
        + "finished_at IS NOT NULL, duration_ms >= 0 FROM test_runs"));
    assertEquals(jobs, rows("SELECT run_id, job_index, job, stage, status, reason, exit_code, backend, feature_name, "
        + "duration_ms >= 0, started_at <= finished_at FROM sandbox_jobs ORDER BY job_index"));
    var offsets = rows("SELECT projection FROM projection_offsets ORDER BY 1");
    assertEquals(List.of(List.of("feature"), List.of("sandbox-run")), offsets, "the offset of each tag is stored");
    assertTrue(rows("SELECT 1 FROM projected_runs WHERE last_seq < 5").isEmpty(), "every event was applied once");
  }
}
