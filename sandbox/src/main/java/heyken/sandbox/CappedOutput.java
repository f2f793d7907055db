package heyken.sandbox;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The output of one job as both backends keep it: standard output alone and both streams interleaved, each at most
 * the policy's output cap in UTF-8 bytes. What goes into the interleaved log also goes to the job's
 * {@link SandboxBackend.OutputListener}, so a job that floods its output cannot flood the live logs either.
 *
 * <p>Bytes arrive in arbitrary chunks (Docker frames, pipe reads); each stream has its own decoder so that a character
 * split across two chunks is decoded whole. Thread-safe: stdout and stderr are usually read by different threads.
 */
final class CappedOutput {

  private static final Logger LOG = LoggerFactory.getLogger(CappedOutput.class);

  static final String STDOUT = "stdout";
  static final String STDERR = "stderr";

  private final String jobId;
  private final int capBytes;
  private final SandboxBackend.OutputListener listener;
  private final StreamDecoder outDecoder = new StreamDecoder();
  private final StreamDecoder errDecoder = new StreamDecoder();
  private final StringBuilder stdout = new StringBuilder();
  private final StringBuilder log = new StringBuilder();
  private int stdoutBytes;
  private int logBytes;
  private boolean truncated;
  private boolean closed;
  private boolean listenerFailed;
  private final String watched;
  /** The end of standard error seen so far, as long as the watched line minus one: a line split across chunks. */
  private String watchCarry = "";
  private boolean seen;

  CappedOutput(String jobId, int capBytes, SandboxBackend.OutputListener listener) {
    this(jobId, capBytes, listener, null);
  }

  /**
   * @param watched a line to look for on standard error, whether or not it fits under the cap (see {@link #seen()});
   *     null for none
   */
  CappedOutput(String jobId, int capBytes, SandboxBackend.OutputListener listener, String watched) {
    this.jobId = jobId;
    this.capBytes = capBytes;
    this.listener = listener == null ? SandboxBackend.OutputListener.NONE : listener;
    this.watched = watched == null || watched.isEmpty() ? null : watched;
  }

  /** Takes a chunk of {@code stream} ({@link #STDOUT} or {@link #STDERR}); ignored once {@link #close()} ran. */
  synchronized void accept(String stream, byte[] bytes, int offset, int length) {
    if (closed || length <= 0) {
      return;
    }
    boolean isStdout = STDOUT.equals(stream);
    String text = (isStdout ? outDecoder : errDecoder).decode(bytes, offset, length, false);
    append(isStdout, text);
  }

  /**
   * Flushes characters still waiting for their last bytes and stops taking output: after this returns the listener is
   * never called again (the contract: no output after {@code run} returned).
   */
  synchronized void close() {
    if (closed) {
      return;
    }
    append(true, outDecoder.decode(new byte[0], 0, 0, true));
    append(false, errDecoder.decode(new byte[0], 0, 0, true));
    closed = true;
  }

  synchronized String stdout() {
    return stdout.toString();
  }

  synchronized String log() {
    return log.toString();
  }

  synchronized boolean truncated() {
    return truncated;
  }

  /** Whether the watched line came on standard error (also when it came after the cap). */
  synchronized boolean seen() {
    return seen;
  }

  private void watch(String text) {
    if (watched == null || seen) {
      return;
    }
    String window = watchCarry + text;
    if (window.contains(watched)) {
      seen = true;
      watchCarry = "";
      return;
    }
    int keep = Math.min(window.length(), watched.length() - 1);
    watchCarry = window.substring(window.length() - keep);
  }

  private void append(boolean isStdout, String text) {
    if (text.isEmpty()) {
      return;
    }
    if (!isStdout) {
      watch(text);
    }
    if (isStdout) {
      int taken = appendCapped(stdout, text, capBytes - stdoutBytes);
      stdoutBytes += taken;
    }
    int before = log.length();
    int taken = appendCapped(log, text, capBytes - logBytes);
    logBytes += taken;
    if (log.length() > before) {
      notifyListener(isStdout ? STDOUT : STDERR, log.substring(before));
    }
  }

  /** Appends the longest prefix of {@code text} that fits in {@code room} UTF-8 bytes; returns the bytes taken. */
  private int appendCapped(StringBuilder target, String text, int room) {
    int used = 0;
    int i = 0;
    while (i < text.length()) {
      int cp = text.codePointAt(i);
      int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (used + size > room) {
        truncated = true;
        break;
      }
      used += size;
      i += Character.charCount(cp);
    }
    target.append(text, 0, i);
    return used;
  }

  private void notifyListener(String stream, String text) {
    try {
      listener.output(stream, text);
    } catch (RuntimeException e) {
      // a broken live-log consumer must not fail the job; say so once
      if (!listenerFailed) {
        listenerFailed = true;
        LOG.warn("sandbox output listener failed job={} error={}", jobId, e.toString());
      }
    }
  }

  /** UTF-8 decoding across chunk boundaries; malformed bytes become U+FFFD. */
  private static final class StreamDecoder {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPLACE)
        .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] pending = new byte[0];

    String decode(byte[] bytes, int offset, int length, boolean endOfInput) {
      ByteBuffer in = ByteBuffer.allocate(pending.length + length);
      in.put(pending).put(bytes, offset, length).flip();
      CharBuffer out = CharBuffer.allocate(in.remaining() + 2);
      decoder.decode(in, out, endOfInput);
      if (endOfInput) {
        decoder.flush(out);
        decoder.reset();
      }
      pending = new byte[in.remaining()];
      in.get(pending);
      return out.flip().toString();
    }
  }
}
