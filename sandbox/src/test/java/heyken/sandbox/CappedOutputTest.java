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
