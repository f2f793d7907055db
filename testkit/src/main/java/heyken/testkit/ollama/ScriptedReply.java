package heyken.testkit.ollama;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * What the {@link OllamaStandIn} answers to a chat or generate request that matched a rule: the content
 * (text, JSON, a tool call or an error status) and the faults to play while answering (delays, a stalled or
 * dropped connection, an error line in the middle of the stream, a {@code done_reason}). Immutable: every
 * modifier returns a copy, so one reply can be the base of several rules.
 *
 * <p>Tokens are the scripted text split after each space ({@code "Hello world."} streams as {@code "Hello "},
 * {@code "world."}); "after k tokens" counts those deltas.
 */
public final class ScriptedReply {

  enum Kind { TEXT, JSON, TOOL_CALL, ERROR }

  Kind kind;
  String content = "";
  String toolName;
  String toolArgumentsJson;
  int status;
  String errorMessage;
  Duration delayBeforeHeaders = Duration.ZERO;
  Duration delayPerToken = Duration.ZERO;
  int midErrorAfter = -1;
  String midErrorMessage = OllamaStandIn.RUNNER_ERROR;
  int disconnectAfter = -1;
  int stallAfter = -1;
  boolean hang;
  CountDownLatch gate;
  int pauseAfter = -1;
  CountDownLatch pauseGate;
  String doneReason;
  Integer promptEvalCount;
  Integer evalCount;

  private ScriptedReply(Kind kind) {
    this.kind = kind;
  }

  /** The model answers {@code text}; streamed as deltas split after each space. */
  public static ScriptedReply text(String text) {
    var reply = new ScriptedReply(Kind.TEXT);
    reply.content = Objects.requireNonNull(text, "text");
    return reply;
  }

  /** The model answers this JSON document as its content (what a {@code format} request gets back). */
  public static ScriptedReply json(String json) {
    var reply = new ScriptedReply(Kind.JSON);
    reply.content = Objects.requireNonNull(json, "json");
    return reply;
  }

  /** The model calls tool {@code name} with {@code argumentsJson} (a JSON object), then ends its turn. */
  public static ScriptedReply toolCall(String name, String argumentsJson) {
    var reply = new ScriptedReply(Kind.TOOL_CALL);
    reply.toolName = Objects.requireNonNull(name, "name");
    try {
      if (!OllamaStandIn.JSON.readTree(argumentsJson).isObject()) {
        throw new IllegalArgumentException("tool call arguments must be a JSON object: " + argumentsJson);
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("tool call arguments are not JSON: " + argumentsJson, e);
    }
    reply.toolArgumentsJson = argumentsJson;
    return reply;
  }

  /** The server answers {@code status} with {@code {"error":message}} before any token. */
  public static ScriptedReply error(int status, String message) {
    var reply = new ScriptedReply(Kind.ERROR);
    reply.status = status;
    reply.errorMessage = Objects.requireNonNull(message, "message");
    return reply;
  }

  /** Ollama's queue is full: 503 with its exact message ({@code OLLAMA_MAX_QUEUE} exceeded). */
  public static ScriptedReply busy() {
    return error(503, OllamaStandIn.QUEUE_FULL);
  }

  /** Wait this long before the response headers: model load plus prompt evaluation. */
  public ScriptedReply delayBeforeHeaders(Duration delay) {
    var copy = copy();
    copy.delayBeforeHeaders = Objects.requireNonNull(delay);
    return copy;
  }

  /** Wait this long before every token after the first, and before the final chunk: a slow model. */
  public ScriptedReply delayPerToken(Duration delay) {
    var copy = copy();
    copy.delayPerToken = Objects.requireNonNull(delay);
    return copy;
  }

  /**
   * Stream {@code afterTokens} deltas, then the runner fails: a final {@code {"error":…}} line with status 200,
   * as Ollama does once a stream has started. Without streaming the server answers 500 with the message.
   */
  public ScriptedReply midError(int afterTokens) {
    return midError(afterTokens, OllamaStandIn.RUNNER_ERROR);
  }

  /** As {@link #midError(int)} with the server's message. */
  public ScriptedReply midError(int afterTokens, String message) {
    var copy = copy();
    copy.midErrorAfter = afterTokens;
    copy.midErrorMessage = Objects.requireNonNull(message);
    return copy;
  }

  /** Stream {@code afterTokens} deltas, then drop the TCP connection without ending the chunked body. */
  public ScriptedReply disconnect(int afterTokens) {
    var copy = copy();
    copy.disconnectAfter = afterTokens;
    return copy;
  }

  /** Stream {@code afterTokens} deltas, then send nothing more until the stand-in closes: a stuck runner. */
  public ScriptedReply stallAfter(int afterTokens) {
    var copy = copy();
    copy.stallAfter = afterTokens;
    return copy;
  }

  /** Accept the request and never answer (no headers) until the stand-in closes: a hung server. */
  public ScriptedReply hang() {
    var copy = copy();
    copy.hang = true;
    return copy;
  }

  /** Hold the request before the headers until {@code gate} opens: keeps requests in flight for a test. */
  public ScriptedReply heldUntil(CountDownLatch gate) {
    var copy = copy();
    copy.gate = Objects.requireNonNull(gate);
    return copy;
  }

  /** Stream {@code afterTokens} deltas, then wait for {@code gate} before the rest: proves flushing per line. */
  public ScriptedReply pauseAfter(int afterTokens, CountDownLatch gate) {
    var copy = copy();
    copy.pauseAfter = afterTokens;
    copy.pauseGate = Objects.requireNonNull(gate);
    return copy;
  }

  /** End with this {@code done_reason} ({@code stop}, {@code length}); by default {@code stop}, or {@code length} when {@code num_predict} cut it. */
  public ScriptedReply doneReason(String reason) {
    var copy = copy();
    copy.doneReason = Objects.requireNonNull(reason);
    return copy;
  }

  /** Report this {@code prompt_eval_count} instead of the fixed 26 (e.g. to look like a full context). */
  public ScriptedReply promptEvalCount(int tokens) {
    var copy = copy();
    copy.promptEvalCount = tokens;
    return copy;
  }

  /** Report this {@code eval_count} instead of the fixed 12. */
  public ScriptedReply evalCount(int tokens) {
    var copy = copy();
    copy.evalCount = tokens;
    return copy;
  }

  private ScriptedReply copy() {
    var copy = new ScriptedReply(kind);
    copy.content = content;
    copy.toolName = toolName;
    copy.toolArgumentsJson = toolArgumentsJson;
    copy.status = status;
    copy.errorMessage = errorMessage;
    copy.delayBeforeHeaders = delayBeforeHeaders;
    copy.delayPerToken = delayPerToken;
    copy.midErrorAfter = midErrorAfter;
    copy.midErrorMessage = midErrorMessage;
    copy.disconnectAfter = disconnectAfter;
    copy.stallAfter = stallAfter;
    copy.hang = hang;
    copy.gate = gate;
    copy.pauseAfter = pauseAfter;
    copy.pauseGate = pauseGate;
    copy.doneReason = doneReason;
    copy.promptEvalCount = promptEvalCount;
    copy.evalCount = evalCount;
    return copy;
  }

  @Override
  public String toString() {
    return kind == Kind.ERROR ? "error " + status + " " + errorMessage
        : kind == Kind.TOOL_CALL ? "toolCall " + toolName + " " + toolArgumentsJson
        : kind.name().toLowerCase() + " " + content;
  }
}
