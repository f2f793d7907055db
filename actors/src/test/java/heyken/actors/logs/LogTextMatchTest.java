package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.support.TestLogStore;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The cheaper predicate of {@code contains=} on the lines no trigram index serves (the C fold, ILIKE on the lines
 * with a character that lowers into ASCII) matches exactly what {@code message ILIKE '%text%'} matches, under the
 * C.UTF-8 locale of heyken-pg and the C locale; and a search over a large unindexed tail and indexed segments gives
 * every matching line newest first across pages. Real PostgreSQL.
 */
class LogTextMatchTest {

  private static final LocalDate YESTERDAY = LocalDate.parse("2026-01-09");
  private static final LocalDate TODAY = YESTERDAY.plusDays(1);
  private static final Instant NOW = TODAY.atTime(12, 0).toInstant(ZoneOffset.UTC);
  private static final LogSearchIndex.Settings SMALL =
      new LogSearchIndex.Settings(Duration.ofSeconds(1), 3, Duration.ofMinutes(15), 8, 1_000, 2);

  private static final String KELVIN = "\u212a";
  private static final String DOTTED_I = "\u0130";

  // lines with ASCII and non-ASCII case pairs, characters libc lowers into ASCII, LIKE's wildcards, the escape
  private static final List<String> MESSAGES = List.of(
      "request ab12 failed", "Request AB12 FAILED", "REQUEST ab12", "request_ab12", "request%ab12", "50% done",
      "50x done", "back\\slash path", "backslash path", KELVIN + "elvin at work", "kelvin", "KELVIN",
      DOTTED_I + "stanbul", "istanbul", "ISTANBUL", "Straße", "STRASSE", "strasse", "Ärger über Öl", "ärger",
      "ÄRGER", "emoji \ud83d\ude00 here", "ǅungla", "ǆungla", "Σίσυφος", "σίσυφος", "", "plain hay",
      "mixed " + KELVIN + "ey request ab12", "ΑΒ12 greek capitals");

  private static final List<String> TEXTS = List.of("request ab12", "ab12", "REQUEST", "request_ab12", "request%ab12",
      "50% done", "%", "_", "\\", "back\\slash", "kelvin", "k", "KE", "istanbul", "i", "İstanbul", "straße", "STRASSE",
      "ärger", "ÄRGER", "über öl", "\ud83d\ude00", "ǆ", "ǅ", "σίσυφος", "ΣΊΣΥΦΟΣ", "hay", "y request", "αβ12",
      "no such text", "b12 failed", "AB12 FAILED", "12", " ", "request ab1", "ey request ab12", "50x", "h p");

  private static Map<String, String> mdc() {
    return Map.of();
  }

  /** For every text: the messages the predicate matches and those ILIKE matches, the same. */
  private static void assertSameAsIlike(TestLogStore pg) {
    pg.write(MESSAGES.stream().map(m -> TestLogStore.row(NOW, "INFO", "core", m, mdc())).collect(Collectors.toList()));
    pg.db().withConnection(c -> {
      var fold = LogTextMatch.Fold.of(c);
      for (String text : TEXTS) {
        var params = new ArrayList<Object>();
        String predicate = LogTextMatch.predicate(fold, text, params);
        var viaPredicate = messages(c, "SELECT message FROM log_lines WHERE " + predicate + " ORDER BY id", params);
        var ilike = messages(c, "SELECT message FROM log_lines WHERE message ILIKE ? ORDER BY id",
            List.of("%" + LogStore.likeLiteral(text) + "%"));
        assertEquals(ilike, viaPredicate, "text '" + text + "' with " + predicate);
      }
      return null;
    });
  }

  private static List<String> messages(java.sql.Connection c, String sql, List<Object> params)
      throws java.sql.SQLException {
    var out = new ArrayList<String>();
    try (var s = LogStore.prepare(c, sql, params); var rs = s.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  @Test
  void underCUtf8TheCFoldPlusIlikeOnTheExceptionsMatchesWhatIlikeMatches() {
    try (var pg = TestLogStore.withLocale(LogSettings.defaults("unused", 1000), "C.UTF-8")) {
      var fold = pg.db().withConnection(LogTextMatch.Fold::of);
      assertTrue(fold.ascii(), "libc C.UTF-8 folds ASCII as the C collation does");
      assertEquals("k", fold.intoAscii().get(KELVIN), "libc lowers the Kelvin sign into ASCII: " + fold);
      var params = new ArrayList<Object>();
      assertEquals("(strpos(lower(message COLLATE \"C\"), ?) > 0)",
          LogTextMatch.predicate(fold, "Request AB12", params), "no exception lowers into r, e, q, u, s, t, a, b");
      assertEquals(List.of("request ab12"), params);
      params.clear();
      assertTrue(LogTextMatch.predicate(fold, "Kelvin", params).contains("message ILIKE ?"),
          "a line with the Kelvin sign is checked with ILIKE");
      assertTrue(params.contains(KELVIN) && params.contains("kelvin"), params.toString());
      params.clear();
      assertEquals("message ILIKE ?", LogTextMatch.predicate(fold, "straße", params), "a non-ASCII text: ILIKE");
      assertSameAsIlike(pg);
    }
  }

  @Test
  void underTheCLocaleTheCFoldIsExact() {
    try (var pg = new TestLogStore(LogSettings.defaults("unused", 1000))) {
      var fold = pg.db().withConnection(LogTextMatch.Fold::of);
      assertTrue(fold.ascii());
      assertEquals(Map.of(), fold.intoAscii(), "the C locale lowers A-Z only");
      assertSameAsIlike(pg);
    }
  }

  /** The default settings with a search window of 2 lines and chunks of 3 lines. */
  private static LogSettings smallWindow() {
    var d = LogSettings.defaults("unused", 1000);
    return new LogSettings(d.collection(), d.bufferSize(), d.batchSize(), d.parallelWrites(), d.flushInterval(),
        d.maxQueryLimit(), d.maxConcurrentQueries(), d.dropReportInterval(), d.stream(), d.retention(), SMALL);
  }

  private static Instant at(LocalDate day, String time) {
    return day.atTime(java.time.LocalTime.parse(time)).toInstant(ZoneOffset.UTC);
  }

  @Test
  void aSearchOverALargeUnindexedTailAndIndexedSegmentsGivesEveryMatchNewestFirstAcrossPages() throws Exception {
    // a search window of 2 lines: the tail is read by its own step, the older lines by their indexes
    try (var pg = TestLogStore.withLocale(smallWindow(), "C.UTF-8")) {
      var older = new ArrayList<LogRow>();
      for (int i = 0; i < 40; i++) {
        older.add(TestLogStore.row(at(YESTERDAY, "08:00").plusSeconds(i), "INFO", "core",
            (i % 3 == 0 ? "Request AB12 " : "hay ") + i + (i % 7 == 0 ? " " + KELVIN + "elvin" : ""), mdc()));
        older.add(TestLogStore.row(at(TODAY, "08:00").plusSeconds(i), "INFO", "core",
            (i % 4 == 0 ? "today request ab12 " : "today hay ") + i + (i % 5 == 0 ? " kelvin" : ""), mdc()));
      }
      pg.write(older);
      var built = pg.db().withConnection(c -> LogSearchIndex.maintain(c, NOW, SMALL));
      assertEquals(2, built.names().size(), "a closed day's index and a chunk: " + built);
      // a burst after the newest chunk: 6,000 lines with no trigram index, a few of them matching
      var tail = new ArrayList<LogRow>();
      Instant from = NOW.minusSeconds(1);
      for (int i = 0; i < 6000; i++) {
        String m = i % 997 == 0 ? "tail REQUEST ab12 " + i
            : i % 1009 == 0 ? "tail " + KELVIN + "ELVIN " + i
            : i % 1013 == 0 ? DOTTED_I + "STANBUL request_ab12 " + i
            : "tail hay " + i + " of the burst";
        // several lines in the same microsecond: the order between them is the id's
        tail.add(TestLogStore.row(from.plusNanos(i / 3 * 1000L), "INFO", "core", m, mdc()));
      }
      pg.write(tail);
      var segments = pg.db().withConnection(LogSearchIndex::segments);
      assertFalse(segments.get(0).indexed(), "the newest segment is the unindexed tail: " + segments);
      for (String text : List.of("request ab12", "kelvin", "istanbul", "REQUEST_AB12", "burst", "no such text")) {
        var expected = pg.db().withConnection(c -> messages(c, "SELECT message FROM log_lines WHERE message ILIKE ? "
            + "ORDER BY ts DESC, id DESC", List.of("%" + LogStore.likeLiteral(text) + "%")));
        if (!text.equals("no such text")) {
          assertFalse(expected.isEmpty(), text);
        }
        for (int limit : List.of(1, 3, 1000)) {
          if (text.equals("burst") && limit < 1000) {
            continue; // 6,000 pages
          }
          assertEquals(expected, LogSearchIndexTest.search(pg.store(), text, limit), "'" + text + "' in pages of " + limit);
        }
      }
    }
  }

  @Test
  void aTextCommonInAnIndexedSegmentButNotInItsNewestLinesIsFoundNewestFirst() throws Exception {
    try (var pg = TestLogStore.withLocale(smallWindow(), "C.UTF-8")) {
      // a chunk of the open day: 30,000 lines with the phrase, then 2,000 newer ones without it (a burst); the
      // writer makes the day's partition
      pg.write(List.of(TestLogStore.row(at(TODAY, "04:00"), "INFO", "core", "first", mdc())));
      pg.db().withConnection(c -> {
        try (var s = c.createStatement()) {
          s.execute("INSERT INTO log_lines (ts, level, level_num, message) SELECT '" + TODAY + " 05:00+00'::timestamptz"
              + " + g * interval '1 ms', 'INFO', 2, CASE WHEN g <= 30000 THEN 'filler ' || g || ' of the Log Benchmark,"
              + " request ' || md5(g::text) ELSE 'burst ' || g || ' of the ingest benchmark' END "
              + "FROM generate_series(1, 32000) g");
        }
        return null;
      });
      pg.db().withConnection(c -> LogSearchIndex.maintain(c, NOW, SMALL));
      var segments = pg.db().withConnection(LogSearchIndex::segments);
      assertTrue(segments.stream().anyMatch(LogSearchIndex.Segment::indexed), segments.toString());
      String text = "log benchmark, request";
      var expected = pg.db().withConnection(c -> messages(c, "SELECT message FROM log_lines WHERE message ILIKE ? "
          + "ORDER BY ts DESC, id DESC LIMIT 8", List.of("%" + LogStore.likeLiteral(text) + "%")));
      var first = LogQuery.parse(Map.of("contains", text, "limit", "4"), 1000, NOW);
      var page = pg.store().find(first.query()).toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      var second = LogQuery.parse(Map.of("contains", text, "limit", "4", "after", page.next()), 1000, NOW);
      var next = pg.store().find(second.query()).toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      var found = new ArrayList<String>();
      page.logs().forEach(l -> found.add(l.message()));
      next.logs().forEach(l -> found.add(l.message()));
      assertEquals(expected, found, "the newest 8 in two pages");
      assertTrue(found.get(0).startsWith("filler 30000 "), found.toString());
    }
  }
}
