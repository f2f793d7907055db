package heyken.sandbox.workspace;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as GitLab's {@code timeout} keyword reads them ({@code 1h 30m}, {@code 10 minutes}, {@code 30s},
 * {@code 3600} = seconds, {@code 1 hour and 30 minutes}), also used for heyken.yml's {@code timeout} so that both files
 * speak one language.
 */
public final class DurationText {

  private static final Pattern PART = Pattern.compile("(\\d{1,9}(?:\\.\\d{1,6})?)\\s*([a-z]*)");
  private static final Pattern SECONDS_ONLY = Pattern.compile("\\d{1,9}");
  private static final Map<String, Long> UNIT_SECONDS = Map.ofEntries(
      Map.entry("s", 1L), Map.entry("sec", 1L), Map.entry("secs", 1L), Map.entry("second", 1L),
      Map.entry("seconds", 1L),
      Map.entry("m", 60L), Map.entry("min", 60L), Map.entry("mins", 60L), Map.entry("minute", 60L),
      Map.entry("minutes", 60L),
      Map.entry("h", 3600L), Map.entry("hr", 3600L), Map.entry("hrs", 3600L), Map.entry("hour", 3600L),
      Map.entry("hours", 3600L),
      Map.entry("d", 86400L), Map.entry("day", 86400L), Map.entry("days", 86400L),
      Map.entry("w", 604800L), Map.entry("week", 604800L), Map.entry("weeks", 604800L));

  private DurationText() {}

  /** Parses one of the forms above; throws {@link IllegalArgumentException} with examples when it is none. */
  public static Duration parse(String text) {
    String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (SECONDS_ONLY.matcher(s).matches()) {
      return positive(Duration.ofSeconds(Long.parseLong(s)), text);
    }
    String spaced = s.replace(",", " ").replaceAll("\\band\\b", " ").trim();
    Matcher m = PART.matcher(spaced);
    BigDecimal millis = BigDecimal.ZERO;
    int at = 0;
    boolean any = false;
    while (at < spaced.length()) {
      while (at < spaced.length() && spaced.charAt(at) == ' ') {
        at++;
      }
      if (at == spaced.length()) {
        break;
      }
      if (!m.find(at) || m.start() != at || !UNIT_SECONDS.containsKey(m.group(2))) {
        throw invalid(text);
      }
      long unitMillis = UNIT_SECONDS.get(m.group(2)) * 1000;
      millis = millis.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unitMillis)));
      any = true;
      at = m.end();
    }
    if (!any) {
      throw invalid(text);
    }
    return positive(Duration.ofMillis(millis.longValue()), text);
  }

  /** {@code 45s}, {@code 2m}, {@code 1h 30m}, {@code 1.5s}: always a form {@link #parse} reads back. */
  public static String format(Duration d) {
    long total = d.toMillis();
    if (total % 1000 != 0) {
      return BigDecimal.valueOf(total).movePointLeft(3).stripTrailingZeros().toPlainString() + "s";
    }
    long seconds = total / 1000;
    var out = new StringBuilder();
    long[] sizes = {86400, 3600, 60, 1};
    String[] names = {"d", "h", "m", "s"};
    for (int i = 0; i < sizes.length; i++) {
      if (seconds >= sizes[i]) {
        out.append(out.length() == 0 ? "" : " ").append(seconds / sizes[i]).append(names[i]);
        seconds %= sizes[i];
      }
    }
    return out.length() == 0 ? "0s" : out.toString();
  }

  private static Duration positive(Duration d, String text) {
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException("'" + text + "' is not a positive duration: write e.g. 30s, 10m or 1h 30m");
    }
    return d;
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException("'" + text + "' is not a duration: write e.g. 30s, 10m, 1h 30m, "
        + "10 minutes, or a number of seconds");
  }
}
