package heyken.actors.logs;

import ch.qos.logback.classic.Level;
import com.typesafe.config.Config;
import heyken.actors.chat.ChatNews;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Posts this core's WARN and ERROR lines to the chat's heyken-logs channel, batched and rate-limited: at most one
 * post per {@code interval}, with up to {@code max-lines} lines and "… and K more" for the rest. The chat gateway's
 * own lines (and this actor's) are never posted: a failing post would otherwise log a warning that is posted, and so
 * on. Runs on every core; the gateway, wherever it runs, posts what each core publishes.
 */
public final class LogsToChat {

  /**
   * {@code heyken.logs.chat}: whether lines go to chat at all, from which level (WARN or ERROR), how often and how
   * many lines per post, and which loggers (by name prefix) never do.
   */
  public record Settings(boolean enabled, Level minLevel, Duration interval, int maxLines,
      List<String> excludeLoggers) {
    public Settings {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("heyken.logs.chat.interval must be positive, got " + interval);
      }
      if (maxLines < 1) {
        throw new IllegalArgumentException("heyken.logs.chat.max-lines must be at least 1, got " + maxLines);
      }
      if (!minLevel.isGreaterOrEqual(Level.WARN)) {
        throw new IllegalArgumentException("heyken.logs.chat.min-level must be WARN or ERROR, got " + minLevel);
      }
      excludeLoggers = List.copyOf(excludeLoggers);
    }

    public static Settings from(Config config) {
      Config c = config.getConfig("heyken.logs.chat");
      return new Settings(c.getBoolean("enabled"), Level.toLevel(c.getString("min-level"), Level.WARN),
          c.getDuration("interval"), c.getInt("max-lines"), c.getStringList("exclude-loggers"));
    }

    boolean posts(ChatLogAppender.Line line) {
      if (!Level.toLevel(line.level(), Level.DEBUG).isGreaterOrEqual(minLevel)) {
        return false;
      }
      String logger = line.logger() == null ? "" : line.logger();
      return excludeLoggers.stream().noneMatch(logger::startsWith);
    }
  }

  private enum Tick {
    INSTANCE
  }

  private static final int MAX_DRAIN = 10_000;
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);

  private LogsToChat() {}

  public static Behavior<Object> create(int coreId, Settings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      if (!settings.enabled()) {
        return Behaviors.empty();
      }
      var news = ChatNews.get(context.getSystem());
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.interval());
      return Behaviors.receive(Object.class)
          .onMessageEquals(Tick.INSTANCE, () -> {
            var lines = ChatLogAppender.drain(MAX_DRAIN).stream().filter(settings::posts).toList();
            long overflow = ChatLogAppender.takeOverflow();
            String text = batch(coreId, lines, overflow, settings);
            if (text != null) {
              news.publish(ChatNews.LOGS, text, null);
            }
            return Behaviors.same();
          })
          .build();
    }));
  }

  /**
   * One post: a header, the first {@code max-lines} lines, and how many more there were (including {@code overflow}
   * lines that did not fit into the appender's queue, whose level is unknown). Null when there is nothing to say.
   */
  static String batch(int coreId, List<ChatLogAppender.Line> lines, long overflow, Settings settings) {
    long total = lines.size() + overflow;
    if (total == 0) {
      return null;
    }
    var shown = lines.stream().limit(settings.maxLines())
        .map(l -> TIME.format(l.at()) + " " + l.level() + " " + l.component() + ": " + l.message())
        .collect(Collectors.joining("\n"));
    long more = total - Math.min(lines.size(), settings.maxLines());
    return "core-" + coreId + ": " + total + (total == 1 ? " warning or error" : " warnings and errors")
        + " in the last " + settings.interval().toSeconds() + " s\n" + shown
        + (more > 0 ? (shown.isEmpty() ? "" : "\n") + "… and " + more + " more (GET :5020/api/logs?level=WARN)" : "");
  }
}
