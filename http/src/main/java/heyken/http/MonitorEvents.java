package heyken.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.typesafe.config.Config;
import heyken.protocol.api.LogLine;
import heyken.protocol.api.MonitorViews;
import heyken.protocol.api.SystemStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Map;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

import static org.apache.pekko.http.javadsl.server.Directives.*;

/**
 * The System Monitor's live updates, {@code GET :5021/api/events} (Server-Sent Events), one stream per browser:
 * {@code hello} first (which core answers, with the reconnect delay), then {@code status} (the same JSON as
 * {@code /api/status}), {@code members}, {@code activations} (the epoch history), {@code features} and {@code logs}
 * (new lines, oldest first) — each sent when it changed — and a comment line as heartbeat. When the core that serves
 * the stream goes away (a switch or a failover moves the documented port), the stream ends and the browser reconnects
 * to whichever core holds the port then.
 */
public final class MonitorEvents {

  /** Where the events come from; the cluster in production ({@link MonitorSources}), fakes in tests. */
  public interface Sources {
    int servedBy();

    CompletionStage<SystemStatus> status();

    MonitorViews.Members members();

    CompletionStage<MonitorViews.EpochHistory> history();

    CompletionStage<MonitorViews.Features> features();

    /** Lines at {@code level} or above from {@code since} on (null: the newest), newest first, at most {@code limit}. */
    CompletionStage<List<LogLine>> logs(String level, Instant since, int limit);
  }

  /** {@code heyken.monitor} in application.conf. */
  public record Settings(Duration statusInterval, Duration featuresInterval, Duration logTailInterval,
      int logTailLines, Duration heartbeatInterval, Duration reconnectDelay, int maxFeatures) {

    public static Settings from(Config config) {
      var c = config.getConfig("heyken.monitor");
      return new Settings(c.getDuration("status-interval"), c.getDuration("features-interval"),
          c.getDuration("log-tail-interval"), c.getInt("log-tail-lines"), c.getDuration("heartbeat-interval"),
          c.getDuration("reconnect-delay"), c.getInt("max-features"));
    }
  }

  private static final Set<String> LOG_LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
  private static final ServerSentEvent PING = ServerSentEvent.create("{}", "ping");
  private static final Duration LOG_OVERLAP = Duration.ofSeconds(3);

  private final Sources sources;
  private final Settings settings;

  public MonitorEvents(Sources sources, Settings settings) {
    this.sources = sources;
    this.settings = settings;
  }

  /** What one connection has already been sent, so that only changes go out. */
  private static final class Sent {
    String status;
    String members;
    String history;
    long historyEpoch = -1;
    String features;
    Instant logsSince;
    final Map<String, Instant> logIds = new HashMap<>();
  }

  /** {@code GET events?logs=INFO} (under {@code /api}); {@code logs=off} leaves the log lines out. */
  public Route route() {
    return path("events", () -> get(() -> parameterMap(params -> {
      for (String name : params.keySet()) {
        if (!name.equals("logs")) {
          return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter", "unknown parameter '"
              + (name.length() > 40 ? name.substring(0, 40) + "…" : name) + "'; the only one is logs (a level or off)");
        }
      }
      String logs = params.getOrDefault("logs", "INFO").trim().toUpperCase(Locale.ROOT);
      if (!LOG_LEVELS.contains(logs)) {
        return ApiErrors.error(StatusCodes.BAD_REQUEST, "invalid_parameter",
            "logs must be one of TRACE, DEBUG, INFO, WARN, ERROR or off");
      }
      return completeOK(stream(logs.equals("OFF") ? null : logs), EventStreamMarshalling.toEventStream());
    })));
  }

  /** The stream of one browser; {@code logLevel} null sends no log lines. */
  public Source<ServerSentEvent, NotUsed> stream(String logLevel) {
    var sent = new Sent();
    long reconnect = settings.reconnectDelay().toMillis();
    var hello = Source.single(ServerSentEvent.create(json(new MonitorViews.Hello(sources.servedBy(), reconnect)),
        Optional.of("hello"), Optional.empty(), OptionalInt.of((int) Math.min(reconnect, Integer.MAX_VALUE))));
    Source<ServerSentEvent, NotUsed> status = ticks(settings.statusInterval())
        .mapAsync(1, t -> statusEvents(sent)).mapConcat(list -> list);
    Source<ServerSentEvent, NotUsed> features = ticks(settings.featuresInterval())
        .mapAsync(1, t -> featureEvents(sent)).mapConcat(list -> list);
    Source<ServerSentEvent, NotUsed> updates = status.merge(features);
    if (logLevel != null) {
      updates = updates.merge(ticks(settings.logTailInterval())
          .mapAsync(1, t -> logEvents(sent, logLevel)).mapConcat(list -> list));
    }
    // a named event rather than a comment: the page's watchdog sees it and reconnects when it stops coming
    return hello.concat(updates).keepAlive(settings.heartbeatInterval(), () -> PING);
  }

  private static Source<String, NotUsed> ticks(Duration interval) {
    return Source.tick(Duration.ZERO, interval, "tick").mapMaterializedValue(c -> NotUsed.getInstance());
  }

  private CompletionStage<List<ServerSentEvent>> statusEvents(Sent sent) {
    var out = new ArrayList<ServerSentEvent>();
    String members;
    try {
      members = json(sources.members());
    } catch (RuntimeException e) {
      members = sent.members; // the cluster could not be read this time
    }
    if (members != null && !members.equals(sent.members)) {
      sent.members = members;
      out.add(ServerSentEvent.create(members, "members"));
    }
    return quietly(sources::status).thenCompose(status -> {
      if (status == null) {
        return CompletableFuture.completedFuture(out);
      }
      String text = json(status);
      // the uptimes and the lease's renewal times change every second; a status is new when anything else changed
      String comparable = text.replaceAll("\"uptime_s\":[0-9]+", "").replaceAll("\"lease\":\\{[^}]*}", "");
      if (!comparable.equals(sent.status)) {
        sent.status = comparable;
        out.add(ServerSentEvent.create(text, "status"));
      }
      if (status.epoch() == sent.historyEpoch) {
        return CompletableFuture.completedFuture(out);
      }
      return quietly(sources::history).thenApply(history -> {
        if (history != null) {
          sent.historyEpoch = status.epoch();
          String h = json(history);
          if (!h.equals(sent.history)) {
            sent.history = h;
            out.add(ServerSentEvent.create(h, "activations"));
          }
        }
        return out;
      });
    });
  }

  private CompletionStage<List<ServerSentEvent>> featureEvents(Sent sent) {
    return quietly(sources::features).thenApply(features -> {
      if (features == null) {
        return List.of();
      }
      String text = json(features);
      if (text.equals(sent.features)) {
        return List.of();
      }
      sent.features = text;
      return List.of(ServerSentEvent.create(text, "features"));
    });
  }

  private CompletionStage<List<ServerSentEvent>> logEvents(Sent sent, String level) {
    // each core ships its lines in batches: a line can reach the store after a newer one of the other core, so
    // every query looks back a little and what was sent already is recognised by its id
    Instant since = sent.logsSince == null ? null : sent.logsSince.minus(LOG_OVERLAP);
    return quietly(() -> sources.logs(level, since, settings.logTailLines())).thenApply(newestFirst -> {
      if (newestFirst == null || newestFirst.isEmpty()) {
        return List.of();
      }
      var lines = new ArrayList<>(newestFirst);
      Collections.reverse(lines);
      var fresh = new ArrayList<LogLine>();
      for (LogLine line : lines) {
        Instant at = Instant.parse(line.time());
        if (line.id() != null && sent.logIds.putIfAbsent(line.id(), at) != null) {
          continue;
        }
        fresh.add(line);
        if (sent.logsSince == null || at.isAfter(sent.logsSince)) {
          sent.logsSince = at;
        }
      }
      Instant horizon = sent.logsSince.minus(LOG_OVERLAP).minusSeconds(1);
      sent.logIds.values().removeIf(at -> at.isBefore(horizon));
      return fresh.isEmpty() ? List.of()
          : List.of(ServerSentEvent.create(json(new MonitorViews.LogTail(fresh)), "logs"));
    });
  }

  /** A source that failed this time is asked again at the next tick; the stream goes on. */
  private static <T> CompletionStage<T> quietly(java.util.function.Supplier<CompletionStage<T>> source) {
    try {
      return source.get().handle((value, error) -> error == null ? value : null);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(null);
    }
  }

  static String json(Object value) {
    try {
      return Json.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render " + value.getClass().getSimpleName(), e);
    }
  }
}
