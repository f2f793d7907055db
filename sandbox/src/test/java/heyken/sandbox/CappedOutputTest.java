package heyken.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CappedOutputTest {

  @Test
  void aCharacterSplitAcrossChunksIsDecodedWhole() {
    var output = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE);
    byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
    output.accept("stdout", euro, 0, 1);
    output.accept("stderr", "e".getBytes(StandardCharsets.UTF_8), 0, 1);
    output.accept("stdout", euro, 1, 2);
    output.close();
    assertEquals("€", output.stdout());
    assertEquals("e€", output.log());
  }

  @Test
  void theWatchedLineIsSeenOnStderrOnlyAlsoSplitAcrossChunksAndPastTheCap() {
    String marker = "heyken-sandbox: /work is full (disk 1234abcd)";
    var onStdout = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE, marker);
    byte[] line = (marker + "\n").getBytes(StandardCharsets.UTF_8);
    onStdout.accept("stdout", line, 0, line.length);
    assertFalse(onStdout.seen(), "a job printing it to stdout is not taken for it");
    var split = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE, marker);
    split.accept("stderr", line, 0, 10);
    split.accept("stdout", "noise".getBytes(StandardCharsets.UTF_8), 0, 5);
    split.accept("stderr", line, 10, line.length - 10);
    assertTrue(split.seen());
    var pastCap = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE, marker);
    byte[] flood = "y".repeat(5000).getBytes(StandardCharsets.UTF_8);
    pastCap.accept("stderr", flood, 0, flood.length);
    pastCap.accept("stderr", line, 0, line.length);
    assertTrue(pastCap.truncated());
    assertTrue(pastCap.seen(), "seen although the log was full");
    var other = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE, marker);
    byte[] near = "heyken-sandbox: /work is full (disk 0000abcd)\n".getBytes(StandardCharsets.UTF_8);
    other.accept("stderr", near, 0, near.length);
    assertFalse(other.seen(), "another job's nonce is not this job's marker");
  }

  @Test
  void stdoutAndTheLogAreEachCappedInUtf8Bytes() {
    var output = new CappedOutput("job", 1024, SandboxBackend.OutputListener.NONE);
    byte[] err = "x".repeat(1000).getBytes(StandardCharsets.UTF_8);
    output.accept("stderr", err, 0, err.length);
    byte[] out = "ä".repeat(600).getBytes(StandardCharsets.UTF_8);
    output.accept("stdout", out, 0, out.length);
    output.close();
    assertTrue(output.truncated());
    assertEquals("ä".repeat(512), output.stdout());
    assertEquals("x".repeat(1000) + "ä".repeat(12), output.log());
  }

  @Test
  void theListenerGetsWhatTheLogKeepsAndNothingAfterClose() {
    List<String> seen = new ArrayList<>();
    var output = new CappedOutput("job", 1024, (stream, text) -> seen.add(stream + ":" + text));
    output.accept("stdout", "a\n".getBytes(StandardCharsets.UTF_8), 0, 2);
    output.accept("stderr", "b\n".getBytes(StandardCharsets.UTF_8), 0, 2);
    output.close();
    output.accept("stdout", "late".getBytes(StandardCharsets.UTF_8), 0, 4);
    assertEquals(List.of("stdout:a\n", "stderr:b\n"), seen);
    assertFalse(output.truncated());
  }

  @Test
  void aFailingListenerDoesNotLoseOutput() {
    var output = new CappedOutput("job", 1024, (stream, text) -> {
      throw new IllegalStateException("consumer broke");
    });
    output.accept("stdout", "kept".getBytes(StandardCharsets.UTF_8), 0, 4);
    output.close();
    assertEquals("kept", output.stdout());
  }
}
