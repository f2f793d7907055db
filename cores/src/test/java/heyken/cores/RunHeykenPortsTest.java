package heyken.cores;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/run_heyken.sh} refuses a port out of range before it starts anything (it used to start the store,
 * which crash-looped on {@code port out of range:66017} with a stack trace until the script's wait ran out).
 */
class RunHeykenPortsTest {

  private static final Path ROOT = Path.of(System.getProperty("heyken.root", ".."));

  private record Run(int exit, String output) {}

  private Run run(Path dir, String env, String envFile) throws IOException, InterruptedException {
    Files.writeString(dir.resolve(".env"), envFile);
    var pb = new ProcessBuilder("bash", ROOT.resolve("scripts/run_heyken.sh").toString(), "--no-build")
        .redirectErrorStream(true);
    pb.environment().put("HEYKEN_DATA_DIR", dir.resolve("data").toString());
    pb.environment().put("HEYKEN_ENV_FILE", dir.resolve(".env").toString());
    if (env != null) {
      pb.environment().put(env.substring(0, env.indexOf('=')), env.substring(env.indexOf('=') + 1));
    }
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "run_heyken.sh did not stop at the port check");
    return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void aPortOutOfRangeIsRefusedByNameBeforeAnythingStarts(@TempDir Path dir) throws Exception {
    var r = run(dir, "HEYKEN_STORE_PORT=66017", "");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("not TCP ports (1-65535)") && r.output().contains("66017 (HEYKEN_STORE_PORT)"),
        r.output());
    assertFalse(Files.exists(dir.resolve("data/logs")), "nothing may start: " + r.output());
  }

  @Test
  void theEnvFileAndTheInspectionPortsAreCheckedToo(@TempDir Path dir) throws Exception {
    var r = run(dir, null, "HEYKEN_MONITOR_PORT=65500\nHEYKEN_CORE2_MANAGEMENT_PORT=x7627\n");
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("x7627 (HEYKEN_CORE2_MANAGEMENT_PORT)"), r.output());
    assertTrue(r.output().contains("65600 (HEYKEN_MONITOR_PORT + 1 x HEYKEN_INSPECTION_PORT_OFFSET"), r.output());
    assertFalse(r.output().contains("HEYKEN_LOGGER_PORT"), "a valid port is not named: " + r.output());
  }
}
