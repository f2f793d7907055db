package heyken.actors.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The local language model as Heyken uses it: is it usable (and if not, what to do), answer a conversation
 * whole or token by token, answer in JSON shaped by a schema. Calls block (run them on a blocking dispatcher),
 * are admitted a few at a time in FIFO order (callers learn their queue position), retry transient failures and
 * fail with a {@link LanguageModelException} that says what went wrong and what to do.
 */
public interface LanguageModel {

  /** Whether the server answers and the configured models are installed; never pulls a model. Quick (connect timeout). */
  Availability availability();

  /** The whole answer at once; {@code queue} hears the caller's position while it waits for a turn. */
  Reply chat(ChatRequest request, QueueListener queue);

  default Reply chat(ChatRequest request) {
    return chat(request, QueueListener.IGNORE);
  }

  /**
   * The answer token by token: {@code listener} hears the queue position, the start of the call (show "loading
   * model…" until the first partial) and every delta. Returns the complete reply; a failure after partials were
   * delivered is not retried and throws (never a truncated success).
   */
  Reply stream(ChatRequest request, StreamListener listener);

  /** Calls running and waiting now. */
  QueueStatus queue();

  // ------------------------------------------------------------------ vocabulary

  enum Role {
    SYSTEM, USER, ASSISTANT;

    /** The role as the Ollama API spells it. */
    public String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  record Message(Role role, String content) {
    public Message {
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(content, "content");
    }

    public static Message system(String content) {
      return new Message(Role.SYSTEM, content);
    }

    public static Message user(String content) {
      return new Message(Role.USER, content);
    }

    public static Message assistant(String content) {
      return new Message(Role.ASSISTANT, content);
    }
  }

  /** Which configured model answers: the conversation model, or the code model for writing features. */
  enum Purpose { CONVERSATION, CODE }

  /** Sampling and context options; null means the server's (or for {@code numCtx}, Heyken's configured) default. */
  record Options(Integer numCtx, Double temperature, Integer seed, Integer numPredict) {
    public static final Options DEFAULT = new Options(null, null, null, null);

    public Options withNumCtx(int tokens) {
      return new Options(tokens, temperature, seed, numPredict);
    }

    public Options withTemperature(double value) {
      return new Options(numCtx, value, seed, numPredict);
    }

    public Options withSeed(int value) {
      return new Options(numCtx, temperature, value, numPredict);
    }

    /** The most tokens to generate; Ollama ends with {@code done_reason: length} when it is reached. */
    public Options withNumPredict(int tokens) {
      return new Options(numCtx, temperature, seed, tokens);
    }
  }

  /**
   * One call: the history (system prompt first, newest message last), which model, options, and an optional
   * {@code format}: {@code "json"} or a JSON schema that constrains the answer.
   */
  record ChatRequest(List<Message> messages, Purpose purpose, String model, Options options, JsonNode format) {
    public ChatRequest {
      messages = List.copyOf(messages);
      if (messages.isEmpty()) {
        throw new IllegalArgumentException("a chat request needs at least one message");
      }
      Objects.requireNonNull(purpose, "purpose");
      Objects.requireNonNull(options, "options");
      if (format != null && !(format.isObject() || (format.isTextual() && format.textValue().equals("json")))) {
        throw new IllegalArgumentException("format must be \"json\" or a JSON schema object, got " + format);
      }
    }

    public static ChatRequest of(List<Message> messages) {
      return new ChatRequest(messages, Purpose.CONVERSATION, null, Options.DEFAULT, null);
    }

    public static ChatRequest of(Message... messages) {
      return of(List.of(messages));
    }

    /** Answered by the configured code model. */
    public ChatRequest forCode() {
      return new ChatRequest(messages, Purpose.CODE, model, options, format);
    }

    /** Answered by this model, whatever the purpose. */
    public ChatRequest withModel(String name) {
      return new ChatRequest(messages, purpose, name, options, format);
    }

    public ChatRequest withOptions(Options value) {
      return new ChatRequest(messages, purpose, model, value, format);
    }

    /** The answer must be a JSON document matching {@code schema} (decoding is constrained by the server). */
    public ChatRequest withSchema(JsonNode schema) {
      return new ChatRequest(messages, purpose, model, options, Objects.requireNonNull(schema));
    }

    /** The answer must be some JSON document. */
    public ChatRequest withJsonFormat() {
      return new ChatRequest(messages, purpose, model, options, TextNode.valueOf("json"));
    }
  }

  /** Why generation ended, as Ollama's {@code done_reason}. */
  enum DoneReason {
    STOP, LENGTH, LOAD, UNLOAD, UNKNOWN;

    public static DoneReason fromWire(String reason) {
      if (reason == null) {
        return UNKNOWN;
      }
      for (DoneReason value : values()) {
        if (value.name().equalsIgnoreCase(reason)) {
          return value;
        }
      }
      return UNKNOWN;
    }
  }

  /** Token counts and durations of the final chunk (0 / zero when the server did not report them). */
  record Usage(int promptTokens, int answerTokens, Duration total, Duration load, Duration eval) {
    public static final Usage NONE = new Usage(0, 0, Duration.ZERO, Duration.ZERO, Duration.ZERO);

    public double tokensPerSecond() {
      return eval.isZero() ? 0 : answerTokens * 1e9 / eval.toNanos();
    }
  }

  /** A complete answer. {@code attempts} counts the calls it took (retries of transient failures included). */
  record Reply(String text, String model, DoneReason doneReason, Usage usage, int attempts) {

    /** Generation stopped at {@code num_predict} or the context: the text is incomplete. Do not retry as is. */
    public boolean truncated() {
      return doneReason == DoneReason.LENGTH;
    }

    /** The text as JSON (for {@link ChatRequest#withSchema}); fails saying why when it is not JSON. */
    public JsonNode json() {
      try {
        JsonNode node = Wire.JSON.readTree(text);
        if (node == null || node.isMissingNode()) {
          throw new LanguageModelException(LanguageModelException.Kind.INVALID_OUTPUT,
              "model " + model + " answered nothing where JSON was asked for",
              "ask again; if it repeats, repeat the schema in the system prompt and use temperature 0");
        }
        return node;
      } catch (JsonProcessingException e) {
        if (truncated()) {
          throw new LanguageModelException(LanguageModelException.Kind.INVALID_OUTPUT,
              "model " + model + " was cut off (done_reason length) after " + usage.answerTokens()
                  + " tokens, so its JSON is incomplete",
              "ask for less (fewer or smaller files) or raise num_predict / heyken.llm.num-ctx");
        }
        throw new LanguageModelException(LanguageModelException.Kind.INVALID_OUTPUT,
            "model " + model + " answered text that is not JSON (" + e.getOriginalMessage() + ")",
            "ask again with format set to the schema, the schema repeated in the prompt and temperature 0");
      }
    }

    Reply withAttempts(int n) {
      return new Reply(text, model, doneReason, usage, n);
    }
  }

  /** Whether Ollama is usable; when not, {@code reason} says why and {@code action} what to do. */
  record Availability(State state, String reason, String action, String serverVersion, List<String> installedModels) {
    public enum State { UP, NOT_CONFIGURED, SERVER_DOWN, MODEL_MISSING }

    public Availability {
      installedModels = List.copyOf(installedModels);
    }

    public boolean up() {
      return state == State.UP;
    }

    /** One line for a status page or a chat reply. */
    public String describe() {
      return action.isEmpty() ? reason : reason + ": " + action;
    }
  }

  /** {@code running} calls hold one of {@code capacity} turns; {@code waiting} wait in FIFO order. */
  record QueueStatus(int running, int waiting, int capacity) {
  }

  /** Hears a waiting caller's position: 1 = next. Called again whenever the position improves. */
  @FunctionalInterface
  interface QueueListener {
    QueueListener IGNORE = position -> { };

    void onQueued(int position);
  }

  /** Hears a streaming call: queue position, start (request sent), then every delta with the text so far. */
  @FunctionalInterface
  interface StreamListener extends QueueListener {
    @Override
    default void onQueued(int position) {
    }

    /** The call got its turn and was sent; the model may still be loading. Called again on a retry. */
    default void onStarted(int attempt) {
    }

    void onPartial(String delta, String textSoFar);
  }
}
