package heyken.actors.logs;

import heyken.protocol.api.Problem;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A validated Logger API query: every filter parsed and bounded before anything touches the store.
 * {@link #parse} answers a {@link Problem} (a 400) for anything it cannot take.
 */
public record LogQuery(
    int limit,
    Integer minLevel,
    String component,
    Integer core,
    Instant since,
    Instant until,
    String contains,
    Cursor after,
    String feature,
    String run,
    String room) {

  public static final int DEFAULT_LIMIT = 100;
  /** The parameters {@link #parse} knows; any other name is refused, so a typo never silently matches all lines. */
  public static final java.util.Set<String> PARAMETERS = java.util.Set.of(
      "limit", "level", "component", "core", "feature", "run", "room", "since", "until", "contains", "after");
  private static final int MAX_VALUE = 512;

  /** The query without the MDC id filters (the shape before feature/run/room were added). */
  public LogQuery(int limit, Integer minLevel, String component, Integer core, Instant since, Instant until,
      String contains, Cursor after) {
    this(limit, minLevel, component, core, since, until, contains, after, null, null, null);
  }
  private static final Pattern RELATIVE = Pattern.compile("-(\\d{1,6})([smhdw])");
  private static final Pattern WORD = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  // chat rooms: Rocket.Chat ids, and the web console's "web:<session>"
  private static final Pattern ROOM = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");

  /**
   * Where the previous page ended: lines strictly older than this (time in microseconds, then id). The token is
   * {@code base64url("v2:<micros>:<id>")}; a token of the older MongoDB store ({@code "<millis>:<ObjectId>"}) is still
   * accepted and means "older than that millisecond, or in it" (its lines were copied over with new ids).
   */
  public record Cursor(long micros, long id) {
    public Instant time() {
      return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    }

    public String token() {
      String raw = "v2:" + micros + ":" + id;
      return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    static Cursor parse(String token) {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      String[] parts = raw.split(":", -1);
      if (parts.length == 3 && parts[0].equals("v2")) {
        return new Cursor(Long.parseLong(parts[1]), Long.parseLong(parts[2]));
      }
      if (parts.length == 2 && OBJECT_ID.matcher(parts[1]).matches()) {
        return new Cursor(Math.multiplyExact(Long.parseLong(parts[0]), 1000L) + 999, Long.MAX_VALUE);
      }
      throw new IllegalArgumentException("not a cursor");
    }
  }

  private static final Pattern OBJECT_ID = Pattern.compile("[0-9a-fA-F]{24}");

  /** Either a query or the problem with the parameters. */
  public record Parsed(LogQuery query, Problem problem) {}

  public static Parsed parse(Map<String, String> params, int maxLimit, Instant now) {
    try {
      for (var e : params.entrySet()) {
        if (!PARAMETERS.contains(e.getKey())) {
          String name = e.getKey().length() > 40 ? e.getKey().substring(0, 40) + "…" : e.getKey();
          return fail("unknown_parameter", "unknown filter '" + name + "': use "
              + String.join(", ", new java.util.TreeSet<>(PARAMETERS)));
        }
        if (e.getValue() != null && e.getValue().length() > MAX_VALUE) {
          return fail("invalid_" + e.getKey(), e.getKey() + " must be at most " + MAX_VALUE + " characters");
        }
      }
      int limit = DEFAULT_LIMIT;
      if (params.containsKey("limit")) {
        try {
          limit = Integer.parseInt(params.get("limit").trim());
        } catch (NumberFormatException e) {
          return fail("invalid_limit", "limit must be a whole number, got '" + params.get("limit") + "'");
        }
        if (limit < 1) {
          return fail("invalid_limit", "limit must be at least 1");
        }
        limit = Math.min(limit, maxLimit); // clamped, not refused: asking for a lot gets the most allowed
      }
      Integer level = null;
      if (params.containsKey("level")) {
        level = levelValue(params.get("level"));
        if (level == null) {
          return fail("invalid_level", "level must be one of TRACE, DEBUG, INFO, WARN, ERROR");
        }
      }
      String component = params.get("component");
      if (component != null && !WORD.matcher(component).matches()) {
        return fail("invalid_component", "component must be 1-64 characters of letters, digits, '.', '_' or '-'");
      }
      String feature = params.get("feature");
      if (feature != null && !WORD.matcher(feature).matches()) {
        return fail("invalid_feature", "feature must be a feature id: 1-64 letters, digits, '.', '_' or '-'");
      }
      String run = params.get("run");
      if (run != null && !WORD.matcher(run).matches()) {
        return fail("invalid_run", "run must be a run id: 1-64 letters, digits, '.', '_' or '-'");
      }
      String room = params.get("room");
      if (room != null && !ROOM.matcher(room).matches()) {
        return fail("invalid_room", "room must be a room id: 1-128 letters, digits, '.', '_', ':', '@' or '-'");
      }
      Integer core = null;
      if (params.containsKey("core")) {
        String c = params.get("core").trim().replaceFirst("^core-", "");
        if (!c.equals("1") && !c.equals("2")) {
          return fail("invalid_core", "core must be 1 or 2");
        }
        core = Integer.parseInt(c);
      }
      Instant since = params.containsKey("since") ? time(params.get("since"), now) : null;
      Instant until = params.containsKey("until") ? time(params.get("until"), now) : null;
      if (since != null && until != null && since.isAfter(until)) {
        return fail("invalid_range", "since (" + since + ") is after until (" + until + ")");
      }
      String contains = params.get("contains");
      if (contains != null && contains.length() > 200) {
        return fail("invalid_contains", "contains must be at most 200 characters");
      }
      Cursor after = null;
      if (params.containsKey("after")) {
        try {
          after = Cursor.parse(params.get("after"));
        } catch (RuntimeException e) {
          return fail("invalid_cursor", "after must be the 'next' token of a previous page");
        }
      }
      return new Parsed(
          new LogQuery(limit, level, component, core, since, until, contains, after, feature, run, room), null);
    } catch (TimeException e) {
      return fail("invalid_time", e.getMessage());
    }
  }

  private static Parsed fail(String error, String detail) {
    return new Parsed(null, Problem.badRequest(error, detail));
  }

  /** Logback's level numbers, so that "level=WARN" means WARN and above. */
  static Integer levelValue(String level) {
    return switch (level.trim().toUpperCase(Locale.ROOT)) {
      case "TRACE" -> 5000;
      case "DEBUG" -> 10000;
      case "INFO" -> 20000;
      case "WARN", "WARNING" -> 30000;
      case "ERROR" -> 40000;
      default -> null;
    };
  }

  /** The column level_num (TRACE 0 .. ERROR 4) of a minimum level value of {@link #levelValue}. */
  public static int levelNum(int minLevel) {
    return minLevel >= 40000 ? 4 : minLevel >= 30000 ? 3 : minLevel >= 20000 ? 2 : minLevel >= 10000 ? 1 : 0;
  }

  /** The stored level names at or above a minimum level value. */
  static List<String> levelsFrom(int minLevel) {
    var names = new java.util.ArrayList<String>();
    for (String name : List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR")) {
      if (levelValue(name) >= minLevel) {
        names.add(name);
      }
    }
    return names;
  }

  private static final class TimeException extends IllegalArgumentException {
    TimeException(String message) {
      super(message);
    }
  }

  /**
   * ISO-8601 instant or date, "now", or relative to now: -30s, -15m, -1h, -2d, -1w. Throws
   * IllegalArgumentException with a message for the caller otherwise.
   */
  public static Instant time(String value, Instant now) {
    Instant t = parseTime(value, now);
    if (t.isBefore(EARLIEST) || t.isAfter(LATEST)) {
      throw new TimeException("'" + value + "' is outside the years 1970 to 9999");
    }
    return t;
  }

  private static final Instant EARLIEST = Instant.EPOCH;
  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  /** {@code n} units of a relative time ({@code s}, {@code m}, {@code h}, {@code d}, {@code w}), as in {@code -2h}. */
  public static Duration span(long n, String unit) {
    return switch (unit) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      case "w" -> Duration.ofDays(7 * n);
      default -> throw new IllegalArgumentException("unknown unit of time '" + unit + "': use s, m, h, d or w");
    };
  }

  private static Instant parseTime(String value, Instant now) {
    String v = value.trim();
    if (v.equalsIgnoreCase("now")) {
      return now;
    }
    Matcher m = RELATIVE.matcher(v);
    if (m.matches()) {
      return now.minus(span(Long.parseLong(m.group(1)), m.group(2)));
    }
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      try {
        return LocalDate.parse(v).atStartOfDay().toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e2) {
        throw new TimeException("'" + value + "' is not a time: use ISO-8601 (2026-11-25T10:00:00Z or "
            + "2026-11-25) or a relative time like -30m, -1h, -2d");
      }
    }
  }
}
