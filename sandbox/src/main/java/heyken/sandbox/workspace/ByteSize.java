package heyken.sandbox.workspace;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte amounts as people write them in heyken.yml ({@code 128Mi}, {@code 128MB}, {@code 256m}) and as messages show
 * them. The units follow application.conf (Typesafe Config): {@code k/K/Ki/KiB}, {@code m/M/Mi/MiB}, {@code g/G/Gi/GiB}
 * are powers of 1024 (as Docker's {@code -m 256m}); {@code kB/KB}, {@code MB}, {@code GB} are powers of 1000.
 */
public final class ByteSize {

  private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([A-Za-z]*)");
  private static final long KI = 1024;
  private static final Map<String, Long> UNITS = Map.ofEntries(
      Map.entry("", 1L), Map.entry("b", 1L), Map.entry("B", 1L),
      Map.entry("k", KI), Map.entry("K", KI), Map.entry("Ki", KI), Map.entry("KiB", KI),
      Map.entry("kB", 1000L), Map.entry("KB", 1000L),
      Map.entry("m", KI * KI), Map.entry("M", KI * KI), Map.entry("Mi", KI * KI), Map.entry("MiB", KI * KI),
      Map.entry("MB", 1000L * 1000),
      Map.entry("g", KI * KI * KI), Map.entry("G", KI * KI * KI), Map.entry("Gi", KI * KI * KI),
      Map.entry("GiB", KI * KI * KI), Map.entry("GB", 1000L * 1000 * 1000));

  private ByteSize() {}

  /** Parses {@code 128Mi}, {@code 0.5Gi}, {@code 64MB}, {@code 1048576}; throws with a message naming the forms. */
  public static long parse(String text) {
    Matcher m = FORM.matcher(text == null ? "" : text.trim());
    if (!m.matches() || !UNITS.containsKey(m.group(2))) {
      throw new IllegalArgumentException("'" + text + "' is not a size: write a number with a unit, e.g. 128Mi, "
          + "256m, 1Gi or 500MB");
    }
    BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(UNITS.get(m.group(2))));
    if (bytes.compareTo(BigDecimal.valueOf(Long.MAX_VALUE / 2)) > 0) {
      throw new IllegalArgumentException("'" + text + "' is too large a size");
    }
    return bytes.longValue();
  }

  /** {@code 512 B}, {@code 1 MiB}, {@code 1.5 GiB}. */
  public static String format(long bytes) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = bytes;
    int unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    if (value == Math.rint(value)) {
      return (long) value + " " + units[unit];
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
