package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.support.TestLogStore;
import heyken.protocol.api.LogLine;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The trigram indexes of {@code contains=} built after the lines are written (a closed day whole, the open day in
 * closed time ranges), and the search that reads the newest lines in time order and the older ones by their
 * indexes: the same answers, in the same order and pages, as reading every line would give. Real PostgreSQL.
 */
class LogSearchIndexTest {

  // a fixed "now" in a fixed day, so that which day is closed does not depend on when the test runs
  private static final LocalDate YESTERDAY = LocalDate.parse("2026-01-09");
  private static final LocalDate TODAY = YESTERDAY.plusDays(1);
  private static final Instant NOW = TODAY.atTime(12, 0).toInstant(java.time.ZoneOffset.UTC);
  private static final LogSearchIndex.Settings SMALL =
      new LogSearchIndex.Settings(Duration.ofSeconds(1), 3, Duration.ofMinutes(15), 8, 1_000, 2);

  private TestLogStore pg;
  private LogStore logs;

  @BeforeEach
  void freshDatabase() {
    var d = LogSettings.defaults("unused", 1000);
    // a search window of 2 lines: the indexed segments answer everything older
    pg = new TestLogStore(new LogSettings(d.collection(), d.bufferSize(), d.batchSize(), d.parallelWrites(),
        d.flushInterval(), d.maxQueryLimit(), d.maxConcurrentQueries(), d.dropReportInterval(), d.stream(),
        d.retention(), SMALL));
    logs = pg.store();
  }

  @AfterEach
  void closeDatabase() {
    pg.close();
  }

  private static Instant at(LocalDate day, String time) {
    return day.atTime(java.time.LocalTime.parse(time)).toInstant(java.time.ZoneOffset.UTC);
  }

  private static LogRow line(Instant at, String message) {
    return TestLogStore.row(at, "INFO", "core", message, Map.of());
  }

  private LogSearchIndex.Built maintain(LogSearchIndex.Settings settings) {
    return pg.db().withConnection(c -> LogSearchIndex.maintain(c, NOW, settings));
  }

  private List<LogSearchIndex.Segment> segments() {
    return pg.db().withConnection(LogSearchIndex::segments);
  }

  private List<String> search(String text, int limit) throws Exception {
    return search(logs, text, limit);
  }

  /** Every line a contains= search finds, page after page (the query's "now" is {@link #NOW}). */
  static List<String> search(LogStore logs, String text, int limit) throws Exception {
    var all = new ArrayList<String>();
    String after = null;
    do {
      var params = new HashMap<String, String>(Map.of("contains", text, "limit", String.valueOf(limit)));
      if (after != null) {
        params.put("after", after);
      }
      var parsed = LogQuery.parse(params, 1000, NOW);
      assertNull(parsed.problem());
      LogLine.Page page = logs.find(parsed.query()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      all.addAll(page.logs().stream().map(LogLine::message).collect(Collectors.toList()));
      after = page.next();
    } while (after != null);
    return all;
  }

  private void writeDays() {
    pg.write(List.of(
        line(at(YESTERDAY, "08:00"), "old needle one"),
        line(at(YESTERDAY, "09:00"), "old hay"),
        line(at(YESTERDAY, "23:59:59"), "old needle two"),
        line(at(TODAY, "01:00"), "today needle one"),
        line(at(TODAY, "02:00"), "today hay"),
        line(at(TODAY, "03:00"), "today NEEDLE two"),
        line(NOW.minusSeconds(1), "tail needle"),  // too new for a chunk: the tail, read in time order
        line(NOW.minusMillis(500), "tail hay")));
  }

  @Test
  void aClosedDayIsIndexedWholeAndTheOpenDayInClosedRanges() {
    writeDays();
    var built = maintain(SMALL);
    assertEquals(List.of("log_lines_20260109_trgm", "log_lines_20260110_trgm_000000_115958"), built.names());
    var segments = segments();
    assertEquals(List.of(
            new LogSearchIndex.Segment(TODAY, at(TODAY, "11:59:58"), at(TODAY.plusDays(1), "00:00"), false),
            new LogSearchIndex.Segment(TODAY, at(TODAY, "00:00"), at(TODAY, "11:59:58"), true),
            new LogSearchIndex.Segment(YESTERDAY, at(YESTERDAY, "00:00"), at(TODAY, "00:00"), true)),
        segments, "newest first");
    // a second pass has nothing to do: the tail is below chunk-lines and younger than chunk-age
    assertEquals(List.of(), maintain(SMALL).names());
  }

  @Test
  void containsFindsTheSameLinesNewestFirstWhereverTheyAreIndexedAndAcrossPages() throws Exception {
    writeDays();
    var expected = List.of("tail needle", "today NEEDLE two", "today needle one", "old needle two", "old needle one");
    assertEquals(expected, search("needle", 2), "before any index: every segment read in time order");
    maintain(SMALL);
    assertEquals(expected, search("needle", 2), "indexed, pages of 2");
    assertEquals(expected, search("needle", 1000), "indexed, one page");
    assertEquals(List.of("tail hay", "today hay", "old hay"), search("hay", 1));
    assertEquals(List.of(), search("no such text", 10));
    // several words: the index looks up the rarest-looking one, the whole text is checked on what it finds
    assertEquals(List.of("today NEEDLE two", "today needle one"), search("today needle", 10));
    assertEquals(List.of("today NEEDLE two", "old needle two"), search("needle two", 1));
  }

  @Test
  void severalWordsMatchAsOnePhraseInTheWindowAndInEveryIndexedSegmentAcrossPages() throws Exception {
    // the phrase in every kind of segment (a closed day's index, an open day's chunk, the unindexed tail, which the
    // window of 2 lines does not cover either), next to lines that hold its words apart, in another order, or with
    // LIKE's wildcards where the phrase has other characters
    pg.write(List.of(
        line(at(YESTERDAY, "07:00"), "Request AB12 failed"),
        line(at(YESTERDAY, "08:00"), "ab12 request"),
        line(at(YESTERDAY, "09:00"), "request xx ab12"),
        line(at(YESTERDAY, "10:00"), "bad request ab12 again"),
        line(at(YESTERDAY, "11:00"), "request_ab12"),
        line(at(TODAY, "01:00"), "request ab12 at one"),
        line(at(TODAY, "02:00"), "request  ab12 (two spaces)"),
        line(at(TODAY, "03:00"), "50% done request ab12"),
        line(at(TODAY, "04:00"), "50x done"),
        line(NOW.minusSeconds(1), "tail request ab12"),
        line(NOW.minusMillis(700), "tail ab12 request"),
        line(NOW.minusMillis(600), "newest hay"),
        line(NOW.minusMillis(500), "newest hay again")));
    var expected = List.of("tail request ab12", "50% done request ab12", "request ab12 at one",
        "bad request ab12 again", "Request AB12 failed");
    assertEquals(expected, search("request ab12", 2), "before any index");
    maintain(SMALL);
    assertEquals(3, segments().size(), "a closed day, a chunk, the tail: " + segments());
    for (int limit : List.of(1, 2, 3, 1000)) {
      assertEquals(expected, search("request ab12", limit), "pages of " + limit);
    }
    assertEquals(List.of("50% done request ab12"), search("50% done", 1), "% is a character, not a wildcard");
    assertEquals(List.of("request_ab12"), search("request_ab12", 1), "_ is a character, not a wildcard");
    assertEquals(List.of("tail ab12 request", "ab12 request"), search("ab12 request", 1));
    assertEquals(List.of("Request AB12 failed"), search("ab12 FAILED", 1));
    assertEquals(List.of(), search("request ab12 at two", 1));
  }

  @Test
  void theIndexLooksUpTheRarestLookingWordOfSeveral() {
    assertEquals("ab12", LogStore.probe("request ab12"));
    assertEquals("connection", LogStore.probe("connection refused by"));
    assertNull(LogStore.probe("failed"), "one word: the whole text");
    assertNull(LogStore.probe("a b"), "no word of 3 characters: the whole text");
  }

  @Test
  void aLineArrivingLateForAnIndexedRangeIsFound() throws Exception {
    writeDays();
    maintain(SMALL);
    pg.write(List.of(line(at(TODAY, "04:00"), "late needle"), line(at(YESTERDAY, "10:00"), "late old needle")));
    assertEquals(List.of("tail needle", "late needle", "today NEEDLE two", "today needle one", "old needle two",
        "late old needle", "old needle one"), search("needle", 3));
  }

  @Test
  void theIndexedSegmentsAreSearchedThroughTheirTrigramIndex() {
    writeDays();
    // enough lines for the planner to weigh the indexes (in a table of 8 lines any plan is as good)
    pg.db().withConnection(c -> {
      try (var s = c.createStatement()) {
        for (LocalDate day : List.of(YESTERDAY, TODAY)) {
          s.execute("INSERT INTO log_lines (ts, level, level_num, message) SELECT '" + day + " 05:00+00'::timestamptz"
              + " + g * interval '1 ms', 'INFO', 2, 'hay number ' || g || ' ' || md5(g::text) "
              + "FROM generate_series(1, 20000) g");
        }
      }
      return null;
    });
    maintain(SMALL);
    pg.db().withConnection(c -> c.createStatement().execute("ANALYZE log_lines"));
    for (var segment : segments()) {
      if (!segment.indexed()) {
        continue;
      }
      String plan = pg.db().withConnection(c -> {
        var out = new StringBuilder();
        try (var s = c.createStatement()) {
          s.execute("SET enable_indexscan = off");
          s.execute("SET enable_seqscan = off");
          try (var rs = s.executeQuery("EXPLAIN SELECT id FROM log_lines WHERE "
              + LogSearchIndex.range(segment.from(), segment.to()) + " AND message ILIKE '%needle%' "
              + "ORDER BY ts DESC, id DESC LIMIT 3")) {
            while (rs.next()) {
              out.append(rs.getString(1)).append('\n');
            }
          }
          s.execute("RESET ALL");
        }
        return out.toString();
      });
      String index = segment.day().equals(YESTERDAY) ? "log_lines_20260109_trgm" : "log_lines_20260110_trgm_";
      assertTrue(plan.contains("Bitmap Index Scan on " + index), plan);
    }
  }

  @Test
  void manyRangesOfTheOpenDayAreMergedIntoOne() throws Exception {
    var oneChunk = new LogSearchIndex.Settings(Duration.ofSeconds(1), 1, Duration.ofMinutes(15), 1, 1_000, 2);
    pg.write(List.of(line(at(TODAY, "01:00"), "a needle")));
    pg.db().withConnection(c -> LogSearchIndex.maintain(c, at(TODAY, "02:00"), oneChunk));
    pg.write(List.of(line(at(TODAY, "03:00"), "b needle")));
    pg.db().withConnection(c -> LogSearchIndex.maintain(c, at(TODAY, "04:00"), oneChunk));
    pg.write(List.of(line(at(TODAY, "05:00"), "c needle")));
    assertEquals(List.of("log_lines_20260110_trgm_000000_015958", "log_lines_20260110_trgm_015958_035958"),
        pg.db().withConnection(c -> LogSearchIndex.indexes(c)).get(TODAY).chunks().stream()
            .map(s -> LogSearchIndex.chunkName(TODAY, s.from(), s.to())).sorted().collect(Collectors.toList()));
    var merged = pg.db().withConnection(c -> LogSearchIndex.maintain(c, at(TODAY, "06:00"), oneChunk));
    assertEquals(List.of("log_lines_20260110_trgm_000000_035958"), merged.names());
    var chunks = pg.db().withConnection(c -> LogSearchIndex.indexes(c)).get(TODAY).chunks();
    assertEquals(1, chunks.size(), "the two small ones dropped");
    assertEquals(List.of("c needle", "b needle", "a needle"), search("needle", 1));
    assertFalse(segments().isEmpty());
  }

  @Test
  void aChunkThatHoldsMaxChunkLinesIsNotMergedAgain() throws Exception {
    // a chunk per line; more than one chunk within 2 lines are merged. Two passes an hour: one that merges, and one
    // that indexes the new line
    var settings = new LogSearchIndex.Settings(Duration.ofSeconds(1), 1, Duration.ofMinutes(15), 1, 2, 2);
    for (int hour = 1; hour <= 9; hour += 2) {
      pg.write(List.of(line(at(TODAY, String.format("%02d:00", hour)), "needle " + hour)));
      Instant passes = at(TODAY, String.format("%02d:00", hour + 1));
      pg.db().withConnection(c -> LogSearchIndex.maintain(c, passes, settings));
      pg.db().withConnection(c -> LogSearchIndex.maintain(c, passes, settings));
    }
    // 01 and 03 were merged at 04:00, 05 and 07 at 08:00 (the chunk of 01 and 03 being full); 09 is a chunk alone.
    // Merging every chunk of the day, as before, ends with one chunk of all five lines
    assertEquals(List.of("log_lines_20260110_trgm_000000_035958", "log_lines_20260110_trgm_035958_075958",
        "log_lines_20260110_trgm_075958_095958"), chunkNames());
    var indexes = pg.db().withConnection(c -> LogSearchIndex.indexes(c)).get(TODAY);
    assertEquals(List.of(2L, 2L, 1L), indexes.chunks().stream().map(indexes::linesOf).collect(Collectors.toList()),
        "the lines each chunk's index holds, as its build counted them");
    // a chunk without its count (an older version built it) is counted once, when a merge looks at it
    pg.db().withConnection(c -> {
      try (var st = c.createStatement()) {
        st.execute("COMMENT ON INDEX log_lines_20260110_trgm_075958_095958 IS NULL");
      }
      return LogSearchIndex.maintain(c, at(TODAY, "10:00"), settings);
    });
    indexes = pg.db().withConnection(c -> LogSearchIndex.indexes(c)).get(TODAY);
    assertEquals(1L, indexes.linesOf(indexes.chunks().get(2)));
    assertEquals(List.of("needle 9", "needle 7", "needle 5", "needle 3", "needle 1"), search("needle", 2));
  }

  @Test
  void afterAChunkIsBuiltThePlannerKnowsHowManyLinesItsRangeHolds() {
    // a burst of 2,000 lines in the hour before NOW, on a day that held 3 lines when it was last analysed
    pg.write(List.of(line(at(TODAY, "01:00"), "a"), line(at(TODAY, "01:01"), "b"), line(at(TODAY, "01:02"), "c")));
    pg.db().withConnection(c -> {
      try (var st = c.createStatement()) {
        st.execute("ANALYZE log_lines_20260110");
      }
      return null;
    });
    var burst = new ArrayList<LogRow>();
    for (int i = 0; i < 2_000; i++) {
      burst.add(line(at(TODAY, "11:00").plusMillis(i), "burst line " + i));
    }
    pg.write(burst);
    assertEquals(List.of("log_lines_20260110_trgm_000000_115958"), maintain(SMALL).names());
    long estimate = pg.db().withConnection(c -> {
      try (var st = c.createStatement(); var rs = st.executeQuery("EXPLAIN (FORMAT JSON) SELECT id FROM log_lines "
          + "WHERE ts >= '2026-01-10T10:30:00Z' AND ts < '2026-01-10T11:30:00Z'")) {
        rs.next();
        var plan = rs.getString(1);
        var m = java.util.regex.Pattern.compile("\"Plan Rows\": (\\d+)").matcher(plan);
        assertTrue(m.find(), plan);
        return Long.parseLong(m.group(1));
      }
    });
    // with the statistics of the 3 lines the planner put the burst's hour at 51 lines, and read them through the time
    // index instead of the trigram index of their new chunk
    assertTrue(estimate > 1_000, "the planner expects " + estimate + " lines in the burst's hour, not 2,000");
  }

  @Test
  void aMergeTakesTheNewestChunksWithinMaxChunkLines() {
    var settings = new LogSearchIndex.Settings(Duration.ofSeconds(1), 100, Duration.ofMinutes(15), 8, 1_000, 2);
    var chunks = new ArrayList<LogSearchIndex.Segment>();
    var lines = new HashMap<LogSearchIndex.Segment, Long>();
    long[] counts = {900, 300, 300, 200, -1, 100};
    for (int i = 0; i < counts.length; i++) {
      var chunk = new LogSearchIndex.Segment(TODAY, at(TODAY, String.format("%02d:00", i)),
          at(TODAY, String.format("%02d:00", i + 1)), true);
      chunks.add(chunk);
      lines.put(chunk, counts[i]);
    }
    // newest first: 100, unknown (counted as chunk-lines: 100), 200, 300 and 300 make 1,000; the 900 would make 1,900
    assertEquals(chunks.subList(1, 6), LogSearchIndex.mergeRun(chunks, lines::get, settings),
        "1,000 lines are within the maximum");
    lines.put(chunks.get(1), 301L);
    assertEquals(chunks.subList(2, 6), LogSearchIndex.mergeRun(chunks, lines::get, settings));
    lines.put(chunks.get(5), 5_000L);
    assertEquals(chunks.subList(5, 6), LogSearchIndex.mergeRun(chunks, lines::get, settings),
        "a newest chunk bigger than the maximum is a run of its own, which no merge takes");
  }

  private List<String> chunkNames() {
    return pg.db().withConnection(c -> LogSearchIndex.indexes(c)).get(TODAY).chunks().stream()
        .map(s -> LogSearchIndex.chunkName(TODAY, s.from(), s.to())).collect(Collectors.toList());
  }
}
