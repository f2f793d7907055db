package heyken.cores;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import heyken.actors.journal.JournalEntities;
import heyken.actors.upgrade.BuildVersion;
import heyken.actors.upgrade.JournalDigest;
import heyken.actors.upgrade.ProtocolCompatibility;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import pekko.contrib.persistence.mongodb.JavaDslMongoReadJournal;
import pekko.contrib.persistence.mongodb.MongoReadJournal;

/**
 * The jar's {@code version --json} and {@code check-journal} commands, which an upgrade runs with the old and the new
 * jar: what this build is (revision, Pekko version, serializer bindings), and what it recovers from a journal (every
 * persistence id's events and latest snapshot through the real persistence plugin and serializers, and the state its
 * entity recovers to with this jar's own event handlers, as digests).
 */
final class JournalCheck {

  private static final ObjectMapper JSON = new ObjectMapper();

  private JournalCheck() {}

  static int version(Config config, PrintStream out) {
    var v = BuildVersion.current();
    ObjectNode json = JSON.createObjectNode();
    json.put("revision", v.revision());
    json.put("dirty", v.dirty());
    json.put("build_time", v.buildTime());
    json.put("pekko_version", org.apache.pekko.Version.current());
    json.put("label", v.label());
    var bindings = json.putObject("serialization_bindings");
    ProtocolCompatibility.bindings(config).forEach(bindings::put);
    out.println(json);
    return 0;
  }

  /** {@code check-journal --mongo-uri URI [--out FILE]}: 0 when every persistence id recovered, 1 otherwise. */
  static int checkJournal(List<String> args, PrintStream out, PrintStream err) throws IOException {
    String uri = null;
    Path file = null;
    for (int i = 0; i < args.size(); i++) {
      switch (args.get(i)) {
        case "--mongo-uri" -> uri = i + 1 < args.size() ? args.get(++i) : null;
        case "--out" -> file = i + 1 < args.size() ? Path.of(args.get(++i)) : null;
        default -> {
          err.println("check-journal: unknown option " + args.get(i));
          return 2;
        }
      }
    }
    if (uri == null) {
      err.println("check-journal: give --mongo-uri mongodb://host:port/<database to recover> (a scratch copy)");
      return 2;
    }
    Config config = ConfigFactory.empty()
        .withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("local"))
        .withValue("pekko.contrib.persistence.mongodb.mongo.mongouri", ConfigValueFactory.fromAnyRef(uri))
        .withValue("heyken.mongo.uri", ConfigValueFactory.fromAnyRef(uri))
        .withValue("pekko.loglevel", ConfigValueFactory.fromAnyRef("WARNING"))
        // Pekko's own stdout logger: logback (and its store appender) would only slow a loaded machine down
        .withValue("pekko.loggers", ConfigValueFactory.fromIterable(
            List.of("org.apache.pekko.event.Logging$DefaultLogger")))
        .withValue("pekko.logging-filter", ConfigValueFactory.fromAnyRef("org.apache.pekko.event.DefaultLoggingFilter"))
        .withValue("pekko.logger-startup-timeout", ConfigValueFactory.fromAnyRef("60s"))
        .withFallback(ConfigFactory.load()).resolve();
    var system = ActorSystem.create("heyken-check-journal", config);
    ObjectNode result = JSON.createObjectNode();
    var digests = result.putObject("digests");
    var failures = result.putArray("failures");
    long events = 0;
    int replays = 0;
    try {
      var journal = PersistenceQuery.get(system).getReadJournalFor(JavaDslMongoReadJournal.class,
          MongoReadJournal.Identifier());
      List<String> ids = journal.currentPersistenceIds().runWith(Sink.seq(), system).toCompletableFuture()
          .get(2, TimeUnit.MINUTES);
      var snapshots = Persistence.get(system).snapshotStoreFor("", ConfigFactory.empty());
      for (String pid : ids.stream().sorted().toList()) {
        var digest = new JournalDigest();
        try {
          journal.currentEventsByPersistenceId(pid, 0, Long.MAX_VALUE)
              .runForeach(env -> digest.add(env.event()), system).toCompletableFuture().get(2, TimeUnit.MINUTES);
          var entry = digests.putObject(pid);
          entry.put("events", digest.count());
          entry.put("digest", digest.hex());
          Object reply = Patterns.ask(snapshots, new SnapshotProtocol.LoadSnapshot(pid,
              SnapshotSelectionCriteria.latest(), Long.MAX_VALUE), Duration.ofSeconds(30)).toCompletableFuture()
              .get(40, TimeUnit.SECONDS);
          if (reply instanceof SnapshotProtocol.LoadSnapshotResult r && r.snapshot().isDefined()) {
            SelectedSnapshot s = r.snapshot().get();
            var snap = new JournalDigest();
            snap.add(s.snapshot());
            entry.put("snapshot", s.metadata().sequenceNr() + ":" + snap.hex());
          } else if (reply instanceof SnapshotProtocol.LoadSnapshotFailed f) {
            throw new IllegalStateException("snapshot: " + f.cause());
          }
          if (JournalEntities.known(pid)) {
            entry.put("state", recoveredState(system, pid, replays++));
          }
          events += digest.count();
        } catch (Exception e) {
          digests.remove(pid);
          var f = failures.addObject();
          f.put("persistence_id", pid);
          f.put("error", rootCause(e));
        }
      }
      result.put("persistence_ids", ids.size());
      result.put("events", events);
      result.put("revision", BuildVersion.current().label());
    } catch (Exception e) {
      var f = failures.addObject();
      f.put("persistence_id", "*");
      f.put("error", rootCause(e));
    } finally {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }
    String text = JSON.writeValueAsString(result);
    if (file != null) {
      Files.writeString(file, text);
    } else {
      out.println(text);
    }
    return failures.isEmpty() ? 0 : 1;
  }

  /**
   * Recovers {@code pid} as its entity does (the latest snapshot, then the events folded with the entity's own
   * {@code State.apply}, this jar's code) and answers the digest of the recovered state as canonical JSON.
   */
  private static String recoveredState(ActorSystem system, String pid, int n) throws Exception {
    var typed = Adapter.toTyped(system);
    var replayer = Adapter.spawn(system, JournalEntities.replayer(pid), "replay-" + n);
    try {
      Object state = AskPattern.<JournalEntities.GetState, Object>ask(replayer, JournalEntities.GetState::new,
          Duration.ofSeconds(60), typed.scheduler()).toCompletableFuture().get(70, TimeUnit.SECONDS);
      var digest = new JournalDigest();
      digest.add(state);
      return digest.hex();
    } finally {
      system.stop(Adapter.toClassic(replayer));
    }
  }

  private static String rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getName() + ": " + t.getMessage();
  }
}
