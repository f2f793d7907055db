package heyken.actors.logs;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How {@code contains=} is matched on the lines no trigram index serves (the search window, the open day's tail,
 * the heads of indexed segments): the same answer as {@code message ILIKE '%text%'}, several times cheaper.
 *
 * <p>In a UTF8 database ILIKE lowers both the line and the pattern with {@code lower()} for every row, and under a
 * libc locale other than C (the embedded heyken-pg is {@code C.UTF-8}) that converts each line to wide characters
 * and back: ~1 µs a line, 200 ms for the 200k lines a burst leaves unindexed (bench/logs.sh). Lowering under the
 * {@code "C"} collation only folds A-Z, a pass over the bytes. For a text of ASCII characters both give the same
 * answer, except on a line holding one of the few non-ASCII characters that libc lowers into ASCII (in C.UTF-8
 * {@code İ} to {@code i}, the Kelvin sign {@code K} to {@code k}):
 * <ul>
 *   <li>libc lowers character by character (towlower), and an ASCII character as the C collation does (checked);</li>
 *   <li>so a match of the lowered ASCII text in the C-lowered line is a match in the lowered line, and the converse
 *       holds where the line's matching characters are ASCII, which they must be unless one of them is a character
 *       lowered into ASCII: such a line is checked with ILIKE.</li>
 * </ul>
 * So the predicate is {@code strpos(lower(message COLLATE "C"), text) > 0}, or ILIKE for a line holding such a
 * character (when the text has what it lowers into). What the database does is read once from it: the encoding,
 * the locale provider (ICU lowers with context: ILIKE then), the ASCII check, and every code point that lowers into
 * ASCII (a scan of all of them, ~0.5 s once per core). A text with a non-ASCII character is matched with ILIKE.
 */
final class LogTextMatch {

  /**
   * What this database's {@code lower()} does: whether the C fold may stand in for it, and the exceptions in code
   * point order (so a query's parameters come in one order).
   */
  record Fold(boolean ascii, Map<String, String> intoAscii) {

    static final Fold ILIKE_ONLY = new Fold(false, Map.of());

    /** Reads it from the database (a read-only query). */
    static Fold of(Connection c) throws SQLException {
      try (Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT current_setting('server_encoding'), "
            + "(SELECT to_jsonb(d) ->> 'datlocprovider' FROM pg_database d WHERE datname = current_database()), "
            + "lower(a) = lower(a COLLATE \"C\") "
            + "FROM (SELECT string_agg(chr(c), '' ORDER BY c) a FROM generate_series(1, 127) c) x")) {
          rs.next();
          String provider = rs.getString(2);
          if (!"UTF8".equals(rs.getString(1)) || !(provider == null || provider.equals("c")) || !rs.getBoolean(3)) {
            return ILIKE_ONLY;
          }
        }
        // every code point (not a surrogate) that lowers to an ASCII character, or to more than one character
        var intoAscii = new LinkedHashMap<String, String>();
        try (ResultSet rs = s.executeQuery("SELECT chr(c), lower(chr(c)) FROM generate_series(128, 1114111) c "
            + "WHERE (c < 55296 OR c > 57343) AND (ascii(lower(chr(c))) < 128 OR length(lower(chr(c))) <> 1) "
            + "ORDER BY c")) {
          while (rs.next()) {
            intoAscii.put(rs.getString(1), rs.getString(2));
          }
        }
        return new Fold(true, Collections.unmodifiableMap(intoAscii));
      }
    }
  }

  private LogTextMatch() {}

  /**
   * The predicate on {@code message} that matches {@code text} literally and case-insensitively, as
   * {@code message ILIKE '%text%'} does, with its parameters appended to {@code params}.
   */
  static String predicate(Fold fold, String text, List<Object> params) {
    if (!fold.ascii() || !text.chars().allMatch(ch -> ch < 128)) {
      params.add("%" + LogStore.likeLiteral(text) + "%");
      return "message ILIKE ?";
    }
    String lowered = text.toLowerCase(Locale.ROOT); // A-Z only, for ASCII: what the check above compared
    var sql = new StringBuilder("(strpos(lower(message COLLATE \"C\"), ?) > 0");
    params.add(lowered);
    var exceptions = new StringBuilder();
    for (var e : fold.intoAscii().entrySet()) {
      // only a character lowered into one of the text's can make a line match that the C fold misses
      if (e.getValue().length() != 1 || lowered.indexOf(e.getValue()) >= 0) {
        exceptions.append(exceptions.length() == 0 ? "" : " OR ").append("strpos(message, ?) > 0");
        params.add(e.getKey());
      }
    }
    if (exceptions.length() > 0) {
      sql.append(" OR ((").append(exceptions).append(") AND message ILIKE ?)");
      params.add("%" + LogStore.likeLiteral(text) + "%");
    }
    return sql.append(")").toString();
  }
}
