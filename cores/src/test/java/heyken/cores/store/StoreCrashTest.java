package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store as its own process: acknowledged writes survive kill -9, and a second store on its port is refused. */
class StoreCrashTest {

  static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  /** The process under test: {@code HeykenStore.run} as the CLI calls it. Args: data dir, port. */
  public static final class StoreMain {
    public static void main(String[] args) {
      HeykenStore.run(ConfigFactory.parseString("""
          heyken.data-dir = "%s"
          heyken.store { host = "127.0.0.1", port = %s, file = "store/heyken.mv" }
          """.formatted(args[0].replace("\\", "\\\\"), args[1])));
    }
  }

  @TempDir
  Path dir;

  final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process p : started) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void acknowledgedWritesSurviveKillDashNine() throws Exception {
    Path data = dir.resolve("data");
    int port = freePort();
    Process store = startStore(data, port, "first");
    try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + port)) {
      MongoCollection<Document> events = client.getDatabase("heyken").getCollection("events");
      for (int i = 0; i < 300; i++) {
        events.insertOne(new Document("_id", i).append("payload", "event " + i + " " + "x".repeat(200)));
      }
    }
    // SIGKILL right after the last acknowledgement: no shutdown hook, no final commit
    store.destroyForcibly();
    assertTrue(store.waitFor(30, TimeUnit.SECONDS), "the killed store did not exit");

    Process restarted = startStore(data, port, "restarted");
    try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + port)) {
      MongoCollection<Document> events = client.getDatabase("heyken").getCollection("events");
      assertEquals(300, events.countDocuments(), "acknowledged inserts were lost by the crash");
      Set<Integer> ids = new HashSet<>();
      events.find().forEach(d -> ids.add(d.getInteger("_id")));
      for (int i = 0; i < 300; i++) {
        assertTrue(ids.contains(i), "event " + i + " was lost");
      }
    }

    // a clean stop (SIGTERM) closes the file: the next store opens it and still finds everything
    restarted.destroy();
    assertTrue(restarted.waitFor(30, TimeUnit.SECONDS), "the store did not stop on SIGTERM");
    startStore(data, port, "after-clean-stop");
    try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + port)) {
      assertEquals(300, client.getDatabase("heyken").getCollection("events").countDocuments());
    }
  }

  @Test
  void aSecondStoreOnTheSamePortExitsWithCode2AndSaysWhatToDo() throws Exception {
    Path data = dir.resolve("data");
    int port = freePort();
    startStore(data, port, "first");

    // same data dir and port, as when the store is started twice
    Process second = launch(data, port, "second");
    assertTrue(second.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the second store kept running");
    assertEquals(2, second.exitValue());
    List<String> errors = Files.readAllLines(dir.resolve("second.err")).stream().filter(l -> !l.isBlank()).toList();
    assertEquals(1, errors.size(), "expected one line, got " + errors);
    String line = errors.get(0);
    assertTrue(line.contains("port " + port) && line.contains("already in use"), line);
    assertTrue(line.contains("scripts/stop.sh") && line.contains("HEYKEN_STORE_PORT"), line);
  }

  @Test
  void aSecondStoreOnTheSameFileExitsWithCode2AndSaysWhatToDo() throws Exception {
    Path data = dir.resolve("data");
    startStore(data, freePort(), "first");

    Process second = launch(data, freePort(), "second");
    assertTrue(second.waitFor(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS), "the second store kept running");
    assertEquals(2, second.exitValue());
    List<String> errors = Files.readAllLines(dir.resolve("second.err")).stream().filter(l -> !l.isBlank()).toList();
    assertEquals(1, errors.size(), "expected one line, got " + errors);
    assertTrue(errors.get(0).contains("in use by another process") && errors.get(0).contains("scripts/stop.sh"),
        errors.get(0));
  }

  @Test
  void clientsCreatingTheSameCollectionsAtOnceAllSucceed() throws Exception {
    Path data = dir.resolve("data");
    int port = freePort();
    startStore(data, port, "concurrent");
    try (MongoClient client = MongoClients.create("mongodb://127.0.0.1:" + port)) {
      var db = client.getDatabase("heyken");
      var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
      try {
        for (int round = 0; round < 20; round++) {
          String collection = "race_" + round;
          var start = new java.util.concurrent.CountDownLatch(1);
          var inserts = new ArrayList<java.util.concurrent.Future<?>>();
          for (int t = 0; t < 8; t++) {
            int writer = t;
            inserts.add(pool.submit(() -> {
              start.await();
              // as the persistence plugin does: create the collection (MongoDB answers 48 NamespaceExists to all
              // but one), then write to it
              try {
                db.createCollection(collection);
              } catch (com.mongodb.MongoCommandException e) {
                if (e.getErrorCode() != 48) {
                  throw e;
                }
              }
              db.getCollection(collection).insertOne(new Document("writer", writer));
              return null;
            }));
          }
          start.countDown();
          for (var insert : inserts) {
            insert.get(30, TimeUnit.SECONDS); // a lost creation race fails here with the store's error
          }
          assertEquals(8, db.getCollection(collection).countDocuments(), collection);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  // ---- processes -------------------------------------------------------------------------------------------------

  /** Starts a store and waits for its "listening" line. */
  Process startStore(Path data, int port, String name) throws IOException, InterruptedException {
    Process p = launch(data, port, name);
    Path out = dir.resolve(name + ".out");
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String expected = "heyken-store listening on 127.0.0.1:" + port + " (data: "
        + data.resolve("store/heyken.mv").toAbsolutePath().normalize() + ")";
    while (true) {
      String output = Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
      if (output.lines().anyMatch(expected::equals)) {
        return p;
      }
      if (!p.isAlive()) {
        fail("store " + name + " exited with " + p.exitValue() + ": " + output
            + Files.readString(dir.resolve(name + ".err")));
      }
      if (System.nanoTime() > deadline) {
        fail("store " + name + " did not print '" + expected + "' within " + START_TIMEOUT + ": " + output);
      }
      Thread.sleep(50); // poll interval
    }
  }

  Process launch(Path data, int port, String name) throws IOException {
    Path logback = dir.resolve("logback-store.xml");
    if (!Files.exists(logback)) {
      // the store's own log lines at WARN only, on stderr, so stdout carries the one "listening" line
      Files.writeString(logback, """
          <configuration>
            <appender name="ERR" class="ch.qos.logback.core.ConsoleAppender">
              <target>System.err</target>
              <encoder><pattern>%d %-5level %logger{36} - %msg%n</pattern></encoder>
            </appender>
            <root level="WARN"><appender-ref ref="ERR"/></root>
          </configuration>
          """);
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-Dlogback.configurationFile=" + logback,
        "-cp", testClassPath(), StoreMain.class.getName(), data.toString(), String.valueOf(port))
        .redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile());
    Process p = pb.start();
    started.add(p);
    return p;
  }

  /** Surefire may run the tests from a manifest-only jar; it also passes the real class path in this property. */
  static String testClassPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
