package heyken.actors.logs.question;

import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.Period;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The times a structured query may hold: an ISO-8601 instant or date, {@code now}, {@code today}, {@code yesterday}
 * (midnight in the configured zone), or relative to now ({@code -30m}, {@code -2h}, {@code -1d}, {@code -1w}, or an
 * ISO-8601 duration such as {@code -PT1H}). Anything else is refused with a message saying what is accepted.
 */
final class TimeExpression {

  static final String ACCEPTED = "an ISO-8601 time (2026-11-25T10:00:00Z, 2026-11-25T10:00 or 2026-11-25), now, today, yesterday, "
      + "or relative to now like -30m, -2h, -1d, -1w";
  private static final Pattern RELATIVE = Pattern.compile("-\\s*(\\d{1,6})\\s*([smhdw])");
  private static final Instant EARLIEST = Instant.parse("2000-01-01T00:00:00Z");

  private TimeExpression() {}

  /** The instant {@code value} names; throws IllegalArgumentException saying what is accepted. */
  static Instant resolve(String value, Instant now, ZoneId zone) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.length() > 40) {
      throw new IllegalArgumentException("a time of " + value.length() + " characters is not a time: use " + ACCEPTED);
    }
    Instant at = parse(v, value, now, zone);
    if (at.isBefore(EARLIEST)) {
      return EARLIEST; // nothing is older; keeps Date conversions and arithmetic in range
    }
    return at;
  }

  private static Instant parse(String v, String original, Instant now, ZoneId zone) {
    switch (v) {
      case "now":
        return now;
      case "today":
        return LocalDate.ofInstant(now, zone).atStartOfDay(zone).toInstant();
      case "yesterday":
        return LocalDate.ofInstant(now, zone).minusDays(1).atStartOfDay(zone).toInstant();
      default:
        break;
    }
    Matcher m = RELATIVE.matcher(v);
    if (m.matches()) {
      return minus(now, heyken.actors.logs.LogQuery.span(Long.parseLong(m.group(1)), m.group(2)));
    }
    if (v.startsWith("-p")) {
      try {
        String iso = v.substring(1).toUpperCase(Locale.ROOT);
        if (iso.contains("T")) {
          return minus(now, Duration.parse(iso));
        }
        Period p = Period.parse(iso);
        return minus(now, Duration.ofDays(p.getYears() * 365L + p.getMonths() * 30L + p.getDays()));
      } catch (DateTimeParseException | ArithmeticException e) {
        throw new IllegalArgumentException("'" + original + "' is not a duration: use " + ACCEPTED);
      }
    }
    try {
      return Instant.parse(v.toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      // next form
    }
    try {
      return OffsetDateTime.parse(v.toUpperCase(Locale.ROOT)).toInstant();
    } catch (DateTimeParseException e) {
      // next form
    }
    try {
      return LocalDateTime.parse(v.toUpperCase(Locale.ROOT).replace(' ', 'T')).atZone(zone).toInstant();
    } catch (DateTimeParseException e) {
      // next form
    }
    try {
      return LocalDate.parse(v).atStartOfDay(zone).toInstant();
    } catch (DateTimeException e) {
      throw new IllegalArgumentException("'" + original + "' is not a time: use " + ACCEPTED);
    }
  }

  private static Instant minus(Instant now, Duration d) {
    if (d.isNegative() || d.compareTo(Duration.ofDays(36_600)) > 0) {
      return EARLIEST;
    }
    return now.minus(d);
  }
}
