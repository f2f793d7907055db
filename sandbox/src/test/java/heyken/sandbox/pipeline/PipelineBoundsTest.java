package heyken.sandbox.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Nothing a feature's {@code .gitlab-ci.yml} says may make a core's memory or CPU grow without bound: variable
 * expansion, YAML aliases, nesting, long script lists and many jobs are each refused, quickly and with little memory,
 * with a message naming what is too large.
 */
class PipelineBoundsTest {

  /** What a refusal may allocate at most: far below the gigabytes the bombs below would build. */
  private static final long SMALL = 200L * 1024 * 1024;

  /** A = 1,000 characters, B = "$A" x 1,000 (1 MB), C = "${B}" x 1,000 (1 GB): a ~7 KB file. */
  private static String gigabyteExpansion() {
    return "variables:\n"
        + "  A: \"" + "a".repeat(1_000) + "\"\n"
        + "  B: \"" + "$A".repeat(1_000) + "\"\n"
        + "  C: \"" + "${B}".repeat(1_000) + "\"\n"
        + "test:\n  script: [env]\n";
  }

  @Test
  void aGigabyteExpansionIsRefusedAtOnceNamingTheVariable() {
    String yaml = gigabyteExpansion();
    assertTrue(yaml.length() < 8_000, "the file itself is small: " + yaml.length());
    var e = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(yaml)));
    assertTrue(e.getMessage().contains("variable 'B' expands to more than 65536 characters"), e.getMessage());
    assertTrue(e.getMessage().contains("job 'test'"), e.getMessage());
  }

  @Test
  void theRunTimeExpansionStopsAtTheBoundToo() {
    // a file committed before the bound existed still cannot make the core build the gigabyte
    var variables = new LinkedHashMap<String, String>();
    variables.put("A", "a".repeat(1_000));
    variables.put("B", "$A".repeat(1_000));
    variables.put("C", "${B}".repeat(1_000));
    var e = refusedCheaply(
        () -> assertThrows(JobScript.TooLargeException.class, () -> JobScript.expand(Map.of(), variables)));
    assertEquals("B", e.variable());
  }

  @Test
  void theWholeEnvironmentOfAJobIsBounded() {
    var yaml = new StringBuilder("variables:\n  BIG: \"" + "x".repeat(60_000) + "\"\n");
    for (int i = 0; i < 20; i++) {
      yaml.append("  V").append(i).append(": $BIG\n");
    }
    yaml.append("test:\n  script: [env]\n");
    var e = assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString()));
    // BIG and V0..V15 fit in 1 MiB (17 x 60,000 characters); V16 crosses it
    assertTrue(e.getMessage().contains("variable 'V16' makes the job's environment larger than 1048576 characters"),
        e.getMessage());
  }

  @Test
  void largeButBoundedVariablesStillRun() {
    var variables = new LinkedHashMap<String, String>();
    variables.put("A", "a".repeat(1_000));
    variables.put("B", "$A".repeat(60));
    Map<String, String> env = JobScript.expand(Map.of("CI", "true"), variables);
    assertEquals(60_000, env.get("B").length());
    CiFile file = CiFile.parse("variables:\n  A: \"" + "a".repeat(1_000) + "\"\n  B: \"" + "$A".repeat(60) + "\"\n"
        + "test:\n  script: [env]\n");
    assertEquals(1, file.jobs().size());
  }

  @Test
  void theBillionLaughsAreRefused() {
    var yaml = aliasLevels("l", "[lol, lol, lol, lol, lol, lol, lol, lol, lol]", 8, 9);
    yaml.append("test:\n  script: *l8\n");
    var e = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString())));
    assertTrue(e.getMessage().contains("Number of aliases for non-scalar nodes exceeds the specified max=50"),
        e.getMessage());
  }

  @Test
  void aliasesThatFanOutWithinTheAliasLimitAreRefused() {
    // 45 aliases (5 per level, 9 levels) stay below SnakeYAML's limit yet name 10 x 5^9 = 19.5 million lines
    var yaml = aliasLevels("s", "[a, b, c, d, e, f, g, h, i, j]", 8, 5);
    yaml.append("test:\n  script: [*s8, *s8, *s8, *s8, *s8]\n");
    var e = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString())));
    assertTrue(e.getMessage().contains("job 'test': script has more than 1000 lines"), e.getMessage());
  }

  @Test
  void aRecursiveAliasIsRefused() {
    var e = assertThrows(CiFileException.class, () -> CiFile.parse("test:\n  script: &s [echo, *s]\n"));
    assertTrue(e.getMessage().contains("nests lists more than 10 levels deep"), e.getMessage());
    // 40 aliases of itself: walked path by path, that list would be 40^10 visits
    String fan = "test:\n  script: &s [echo" + ", *s".repeat(40) + "]\n";
    var fanned = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(fan)));
    assertTrue(fanned.getMessage().contains("nests lists more than 10 levels deep"), fanned.getMessage());
    var key = assertThrows(CiFileException.class, () -> CiFile.parse("&k {*k : 1}: x\n"));
    assertTrue(key.getMessage().contains("keys must be plain names, got a mapping"), key.getMessage());
  }

  @Test
  void deepNestingIsRefused() {
    String deep = "test:\n  script: " + "[".repeat(60) + "x" + "]".repeat(60) + "\n";
    var e = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(deep)));
    assertTrue(e.getMessage().contains("Nesting Depth exceeded max 50"), e.getMessage());
    String twelve = "test:\n  script: " + "[".repeat(12) + "x" + "]".repeat(12) + "\n";
    var lists = assertThrows(CiFileException.class, () -> CiFile.parse(twelve));
    assertTrue(lists.getMessage().contains("job 'test': script nests lists more than 10 levels deep"),
        lists.getMessage());
  }

  @Test
  void aHugeFileIsRefused() {
    String huge = "test:\n  script:\n" + "    - echo 0123456789012345678901234567890123456789\n".repeat(80_000);
    var e = assertThrows(CiFileException.class, () -> CiFile.parse(huge));
    assertTrue(e.getMessage().contains("The incoming YAML document exceeds the limit: 3145728 code points"),
        e.getMessage());
  }

  @Test
  void aHugeScriptListIsRefusedNamingTheJob() {
    var yaml = new StringBuilder("test:\n  before_script: [ok]\n  script:\n");
    for (int i = 0; i <= CiFile.MAX_SCRIPT_LINES; i++) {
      yaml.append("    - echo ").append(i).append('\n');
    }
    var e = assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString()));
    assertTrue(e.getMessage().contains("job 'test': script has more than 1000 lines"), e.getMessage());
    // exactly the bound still runs
    String atBound = yaml.substring(0, yaml.lastIndexOf("    - echo"));
    assertEquals(CiFile.MAX_SCRIPT_LINES, CiFile.parse(atBound).jobs().get(0).script().size());
  }

  @Test
  void manyJobsAreRefusedBeforeTheyAreRead() {
    // 200 file variables copied into each of 40,000 jobs would be 8 million entries before the count was checked
    var yaml = new StringBuilder("variables:\n");
    for (int i = 0; i < 200; i++) {
      yaml.append("  V").append(i).append(": v\n");
    }
    for (int i = 0; i < 40_000; i++) {
      yaml.append("j").append(i).append(": {script: [x]}\n");
    }
    var e = refusedCheaply(() -> assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString())));
    assertTrue(e.getMessage().contains("defines 40000 jobs; Heyken runs at most 50"), e.getMessage());
  }

  @Test
  void manyVariablesAreRefusedBeforeEveryJobCopiesAndExpandsThem() {
    // 1 MiB (the largest file the API takes) of short variables, copied into 50 jobs: a minute of a core's CPU
    var yaml = new StringBuilder("variables:\n");
    for (int i = 0; yaml.length() < 1_000_000; i++) {
      yaml.append("  V").append(i).append(": v\n");
    }
    for (int i = 0; i < CiFile.MAX_JOBS; i++) {
      yaml.append("j").append(i).append(": {script: [x]}\n");
    }
    var e = refusedQuickly(() -> assertThrows(CiFileException.class, () -> CiFile.parse(yaml.toString())));
    assertTrue(e.getMessage().contains("line 2: variables has 84259 variables"), e.getMessage());
    assertTrue(e.getMessage().contains("variables; at most 1000 are allowed"), e.getMessage());
    var job = new StringBuilder("test:\n  script: [x]\n  variables:\n");
    for (int i = 0; i <= CiFile.MAX_VARIABLES; i++) {
      job.append("    V").append(i).append(": v\n");
    }
    var own = assertThrows(CiFileException.class, () -> CiFile.parse(job.toString()));
    assertTrue(own.getMessage().contains("job 'test': variables has 1001 variables; at most 1000"), own.getMessage());
    // merge keys count with what they bring
    var merged = new StringBuilder(".base: &base\n");
    for (int i = 0; i < 600; i++) {
      merged.append("  A").append(i).append(": v\n");
    }
    merged.append("variables:\n  <<: *base\n");
    for (int i = 0; i < 600; i++) {
      merged.append("  B").append(i).append(": v\n");
    }
    merged.append("test: {script: [x]}\n");
    var viaMerge = assertThrows(CiFileException.class, () -> CiFile.parse(merged.toString()));
    assertTrue(viaMerge.getMessage().contains("variables has 1200 variables"), viaMerge.getMessage());
    // the bound itself still runs
    String atBound = job.substring(0, job.lastIndexOf("    V"));
    assertEquals(CiFile.MAX_VARIABLES, CiFile.parse(atBound).jobs().get(0).variables().size());
  }

  /** Refused within a few seconds of this thread's CPU (the bound; minutes without it). */
  private static <T> T refusedQuickly(Supplier<T> refusal) {
    var threads = ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadCpuTime();
    T result = refusedCheaply(refusal);
    long cpuMillis = (threads.getCurrentThreadCpuTime() - before) / 1_000_000;
    assertTrue(cpuMillis < 5_000, "the refusal took " + cpuMillis + " ms of CPU");
    return result;
  }

  /** Anchored lists {@code p0} (= {@code base}) to {@code p<levels>}, each of {@code fan} aliases of the one before. */
  private static StringBuilder aliasLevels(String p, String base, int levels, int fan) {
    var yaml = new StringBuilder(p + "0: &" + p + "0 " + base + "\n");
    for (int level = 1; level <= levels; level++) {
      yaml.append(p).append(level).append(": &").append(p).append(level).append(" [");
      for (int i = 0; i < fan; i++) {
        yaml.append(i == 0 ? "" : ", ").append('*').append(p).append(level - 1);
      }
      yaml.append("]\n");
    }
    return yaml;
  }

  /** Runs {@code refusal} on this thread and checks that it allocated little memory. */
  private static <T> T refusedCheaply(Supplier<T> refusal) {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    T result = refusal.get();
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < SMALL, "the refusal allocated " + allocated / (1024 * 1024) + " MiB");
    return result;
  }
}
