package heyken.testkit.ollama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OllamaStandInTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String METRICS = "\"total_duration\":1234567890,\"load_duration\":12345678,"
      + "\"prompt_eval_count\":26,\"prompt_eval_duration\":130079000,\"eval_count\":12,\"eval_duration\":423271000";
  private static final String SPEC_REQUEST = "{\"model\":\"llama3\",\"stream\":false,\"messages\":[{\"role\":\"user\","
      + "\"content\":\"hi there\"}],\"options\":{\"temperature\":0.0,\"seed\":42,\"num_ctx\":8192},\"keep_alive\":\"10m\"}";

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  private OllamaStandIn ollama;

  @BeforeEach
  void start() {
    ollama = OllamaStandIn.start();
  }

  @AfterEach
  void stop() {
    ollama.close();
  }

  // ------------------------------------------------------------ protocol shapes

  @Test
  void rootVersionAndTagsAnswerLikeOllama() throws Exception {
    var root = get("/");
    assertEquals(200, root.statusCode());
    assertEquals("Ollama is running", root.body());

    var version = get("/api/version");
    assertEquals("application/json; charset=utf-8", version.headers().firstValue("content-type").orElseThrow());
    assertEquals("{\"version\":\"0.13.5\"}", version.body());

    JsonNode tags = JSON.readTree(get("/api/tags").body());
    JsonNode model = tags.path("models").get(0);
    assertEquals("llama3:latest", model.path("name").asText());
    assertEquals("llama3:latest", model.path("model").asText());
    assertEquals("gguf", model.path("details").path("format").asText());
    assertEquals("Q4_0", model.path("details").path("quantization_level").asText());
    assertTrue(model.path("digest").asText().startsWith("sha256:"));
  }

  @Test
  void unknownRoutesAndMethodsAre404PlainText() throws Exception {
    var unknown = get("/api/nope");
    assertEquals(404, unknown.statusCode());
    assertEquals("404 page not found", unknown.body());
    assertEquals(404, get("/api/chat").statusCode());
  }

  @Test
  void nonStreamingChatIsTheSpecExampleByteForByte() throws Exception {
    ollama.whenPromptContains("hi there").reply("Hello!");
    var response = post("/api/chat", SPEC_REQUEST);
    assertEquals(200, response.statusCode());
    assertEquals("application/json; charset=utf-8", response.headers().firstValue("content-type").orElseThrow());
    assertEquals("{\"model\":\"llama3\",\"created_at\":\"2025-06-01T12:00:00.123456789Z\",\"message\":{\"role\":"
        + "\"assistant\",\"content\":\"Hello!\"},\"done\":true,\"done_reason\":\"stop\"," + METRICS + "}", response.body());
  }

  @Test
  void streamingChatSendsOneDeltaPerWordThenTheFinalChunk() throws Exception {
    ollama.whenPromptContains("hi").reply("Hello world.");
    var response = post("/api/chat", "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertEquals("application/x-ndjson", response.headers().firstValue("content-type").orElseThrow());
    String prefix = "{\"model\":\"llama3\",\"created_at\":\"2025-06-01T12:00:00.123456789Z\",";
    assertEquals(prefix + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello \"},\"done\":false}\n"
        + prefix + "\"message\":{\"role\":\"assistant\",\"content\":\"world.\"},\"done\":false}\n"
        + prefix + "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
        + METRICS + "}\n", response.body());
  }

  @Test
  void streamIsFlushedLineByLineNotBuffered() throws Exception {
    var gate = new CountDownLatch(1);
    ollama.whenPromptContains("hi").reply(ScriptedReply.text("one two three").pauseAfter(1, gate));
    try (var lines = openStream("/api/chat", chat("llama3", "hi", true))) {
      // the server is held after the first token: seeing it proves the line left before the answer ended
      JsonNode first = JSON.readTree(lines.readLine());
      assertEquals("one ", first.path("message").path("content").asText());
      assertFalse(first.path("done").asBoolean());
      gate.countDown();
      assertEquals("two ", JSON.readTree(lines.readLine()).path("message").path("content").asText());
      assertEquals("three", JSON.readTree(lines.readLine()).path("message").path("content").asText());
      assertTrue(JSON.readTree(lines.readLine()).path("done").asBoolean());
      assertNull(lines.readLine());
    }
  }

  @Test
  void generateAnswersWithResponseAndContext() throws Exception {
    ollama.whenPromptContains("why").reply("Because blue.");
    JsonNode whole = JSON.readTree(post("/api/generate",
        "{\"model\":\"llama3\",\"prompt\":\"why is the sky blue\",\"stream\":false}").body());
    assertEquals("Because blue.", whole.path("response").asText());
    assertTrue(whole.path("context").isArray());
    assertTrue(whole.path("done").asBoolean());

    List<JsonNode> chunks = lines(post("/api/generate", "{\"model\":\"llama3\",\"prompt\":\"why\"}").body());
    assertEquals("Because ", chunks.get(0).path("response").asText());
    assertEquals("", chunks.get(2).path("response").asText());
    assertEquals("stop", chunks.get(2).path("done_reason").asText());
  }

  @Test
  void emptyMessagesOnlyLoadTheModel() throws Exception {
    JsonNode load = JSON.readTree(post("/api/chat", "{\"model\":\"llama3\",\"messages\":[],\"stream\":false}").body());
    assertEquals("load", load.path("done_reason").asText());
    assertEquals("", load.path("message").path("content").asText());
    JsonNode unload = JSON.readTree(post("/api/chat",
        "{\"model\":\"llama3\",\"messages\":[],\"stream\":false,\"keep_alive\":0}").body());
    assertEquals("unload", unload.path("done_reason").asText());
  }

  @Test
  void showPsPullEmbedAndDeleteAnswerLikeOllama() throws Exception {
    JsonNode show = JSON.readTree(post("/api/show", "{\"name\":\"llama3\"}").body());
    assertEquals(8192, show.path("model_info").path("llama.context_length").asInt());
    assertEquals("completion", show.path("capabilities").get(0).asText());

    post("/api/chat", chat("llama3", "hi", false));
    JsonNode ps = JSON.readTree(get("/api/ps").body());
    assertEquals("llama3:latest", ps.path("models").get(0).path("name").asText());

    List<JsonNode> pull = lines(post("/api/pull", "{\"model\":\"qwen2.5-coder:7b\"}").body());
    assertEquals("pulling manifest", pull.get(0).path("status").asText());
    assertEquals("success", pull.get(pull.size() - 1).path("status").asText());
    assertTrue(ollama.modelNames().contains("qwen2.5-coder:7b"));

    List<JsonNode> failed = lines(post("/api/pull", "{\"model\":\"nonexistent-model\"}").body());
    assertEquals(List.of("pulling manifest", ""), failed.stream().map(l -> l.path("status").asText()).toList());
    assertEquals(OllamaStandIn.MANIFEST_ERROR, failed.get(1).path("error").asText());

    JsonNode one = JSON.readTree(post("/api/embed", "{\"model\":\"llama3\",\"input\":\"a\"}").body());
    JsonNode two = JSON.readTree(post("/api/embed", "{\"model\":\"llama3\",\"input\":[\"a\",\"b\"]}").body());
    assertEquals(1, one.path("embeddings").size());
    assertEquals(one.path("embeddings").get(0), two.path("embeddings").get(0));
    assertFalse(two.path("embeddings").get(0).equals(two.path("embeddings").get(1)));

    assertEquals(200, delete("{\"model\":\"qwen2.5-coder:7b\"}").statusCode());
    var again = delete("{\"model\":\"qwen2.5-coder:7b\"}");
    assertEquals(404, again.statusCode());
    assertEquals("{\"error\":\"model 'qwen2.5-coder:7b' not found\"}", again.body());
  }

  @Test
  void requestsAreRecordedWithOptionsFormatAndHeaders() throws Exception {
    post("/api/chat", SPEC_REQUEST);
    RecordedRequest chat = ollama.lastRequest("/api/chat");
    assertEquals("POST", chat.method());
    assertEquals(8192, chat.option("num_ctx").asInt());
    assertEquals(42, chat.option("seed").asInt());
    assertEquals(0.0, chat.option("temperature").asDouble());
    assertEquals("10m", chat.json().path("keep_alive").asText());
    assertFalse(chat.streaming());
    assertEquals("llama3", chat.model());
    assertEquals("hi there", chat.messages().get(0).path("content").asText());
    assertTrue(chat.format().isMissingNode());
    assertEquals("application/json", chat.header("Content-Type"));
  }

  // ------------------------------------------------------------ validation

  @Test
  void requestValidationAnswersOllamasErrors() throws Exception {
    assertError(post("/api/chat", chat("nope", "hi", false)), 404, "model 'nope' not found");
    assertError(post("/api/chat", "{\"messages\":[]}"), 400, "model is required");
    assertError(post("/api/chat", ""), 400, "missing request body");
    assertError(post("/api/chat", "x"), 400, "invalid character 'x' looking for beginning of value");
    assertError(post("/api/chat", "[]"), 400, "json: cannot unmarshal array into Go value of type api.ChatRequest");
    assertError(post("/api/show", "{\"model\":\"nope\"}"), 404, "model 'nope' not found");
    assertError(post("/api/embed", "{\"model\":\"nope\",\"input\":\"a\"}"), 404, "model 'nope' not found");
    assertError(post("/api/chat", "{\"model\":\"llama3\",\"format\":\"xml\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}"),
        400, "invalid format: \"\\\"xml\\\"\"; expected \"json\" or a valid JSON Schema object");
    assertError(post("/api/chat", "{\"model\":\"llama3\",\"think\":true,\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}"),
        400, "\"llama3\" does not support thinking");
  }

  @Test
  void toolsNeedAModelWithTools() throws Exception {
    String withTools = "{\"model\":\"%s\",\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}}]}";
    assertError(post("/api/chat", withTools.formatted("llama3")), 400,
        "registry.ollama.ai/library/llama3:latest does not support tools");

    ollama.installModel("llama3.1", OllamaStandIn.TOOLS);
    ollama.whenLastMessage("user", "weather").reply(ScriptedReply.toolCall("get_weather", "{\"city\":\"Tokyo\"}"));
    ollama.whenLastMessage("tool", "11 degrees").reply("It is 11 degrees in Tokyo.");
    JsonNode call = JSON.readTree(post("/api/chat", withTools.formatted("llama3.1")).body()).path("message");
    assertEquals("", call.path("content").asText());
    JsonNode toolCall = call.path("tool_calls").get(0);
    assertTrue(toolCall.path("id").asText().matches("call_[a-z0-9]{8}"));
    assertEquals("get_weather", toolCall.path("function").path("name").asText());
    assertEquals("Tokyo", toolCall.path("function").path("arguments").path("city").asText());

    List<JsonNode> streamed = lines(post("/api/chat", withTools.formatted("llama3.1").replace("\"stream\":false,", "")).body());
    assertEquals(2, streamed.size());
    assertEquals("get_weather", streamed.get(0).path("message").path("tool_calls").get(0).path("function").path("name").asText());
    assertTrue(streamed.get(1).path("done").asBoolean());

    JsonNode answer = JSON.readTree(post("/api/chat", "{\"model\":\"llama3.1\",\"stream\":false,\"messages\":["
        + "{\"role\":\"user\",\"content\":\"weather?\"},{\"role\":\"tool\",\"content\":\"11 degrees\"}]}").body());
    assertEquals("It is 11 degrees in Tokyo.", answer.path("message").path("content").asText());
  }

  @Test
  void formatSchemaYieldsASchemaShapedDocument() throws Exception {
    String schema = "{\"type\":\"object\",\"properties\":{\"summary\":{\"type\":\"string\"},\"files\":{\"type\":\"array\","
        + "\"items\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}},\"level\":{\"enum\":[\"ERROR\",\"WARN\"]}},"
        + "\"required\":[\"summary\",\"files\"]}";
    ollama.whenPromptContains("plan").reply("not json at all");
    String body = "{\"model\":\"llama3\",\"stream\":false,\"format\":" + schema
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"plan\"}]}";
    JsonNode document = JSON.readTree(JSON.readTree(post("/api/chat", body).body()).path("message").path("content").asText());
    assertTrue(document.path("summary").isTextual());
    assertEquals("", document.path("files").get(0).path("path").asText());
    assertEquals("ERROR", document.path("level").asText());

    ollama.clearRules().whenPromptContains("plan").reply(ScriptedReply.json("{\"summary\":\"ok\"}"));
    JsonNode scripted = JSON.readTree(post("/api/chat", body).body());
    assertEquals("{\"summary\":\"ok\"}", scripted.path("message").path("content").asText());
    assertEquals(schema, ollama.lastRequest("/api/chat").format().toString());
  }

  @Test
  void rulesNarrowByModelEndpointAndRequestAndRunOutAfterTheirUses() throws Exception {
    ollama.installModel("qwen2.5-coder:7b");
    ollama.always().forModel("qwen2.5-coder:7b").reply("code model");
    ollama.always().onEndpoint("generate").reply("generated");
    ollama.whenRequest(r -> r.option("seed").asInt() == 7).times(1).reply("seeded once");
    assertEquals("code model", content(post("/api/chat", chat("qwen2.5-coder:7b", "hi", false))));
    assertEquals("generated", JSON.readTree(post("/api/generate",
        "{\"model\":\"llama3\",\"prompt\":\"hi\",\"stream\":false}").body()).path("response").asText());
    String seeded = "{\"model\":\"llama3\",\"stream\":false,\"options\":{\"seed\":7},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assertEquals("seeded once", content(post("/api/chat", seeded)));
    assertEquals(OllamaStandIn.DEFAULT_REPLY, content(post("/api/chat", seeded)));
  }

  @Test
  void tokenCountsCanBeScripted() throws Exception {
    ollama.always().reply(ScriptedReply.text("full").promptEvalCount(8100).evalCount(3));
    JsonNode reply = JSON.readTree(post("/api/chat", chat("llama3", "hi", false)).body());
    assertEquals(8100, reply.path("prompt_eval_count").asInt());
    assertEquals(3, reply.path("eval_count").asInt());
  }

  // ------------------------------------------------------------ fault hooks

  @Test
  void numPredictCutsTheAnswerWithDoneReasonLength() throws Exception {
    ollama.whenPromptContains("essay").reply("one two three four");
    JsonNode cut = JSON.readTree(post("/api/chat", "{\"model\":\"llama3\",\"stream\":false,\"options\":{\"num_predict\":2},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"essay\"}]}").body());
    assertEquals("one two ", cut.path("message").path("content").asText());
    assertEquals("length", cut.path("done_reason").asText());

    ollama.clearRules().whenPromptContains("essay").reply(ScriptedReply.text("a b").doneReason("length"));
    List<JsonNode> streamed = lines(post("/api/chat", chat("llama3", "essay", true)).body());
    assertEquals("length", streamed.get(streamed.size() - 1).path("done_reason").asText());
  }

  @Test
  void midErrorStreamsSomeTokensThenAnErrorLineWithStatus200() throws Exception {
    ollama.whenPromptContains("crash").reply(ScriptedReply.text("a b c d").midError(2));
    var response = post("/api/chat", chat("llama3", "crash", true));
    assertEquals(200, response.statusCode());
    List<JsonNode> lines = lines(response.body());
    assertEquals(3, lines.size());
    assertEquals("b ", lines.get(1).path("message").path("content").asText());
    assertEquals("{\"error\":\"" + OllamaStandIn.RUNNER_ERROR + "\"}", lines.get(2).toString());

    assertError(post("/api/chat", chat("llama3", "crash", false)), 500, OllamaStandIn.RUNNER_ERROR);
  }

  @Test
  void disconnectDropsTheConnectionMidBody() throws Exception {
    ollama.whenPromptContains("drop").reply(ScriptedReply.text("a b c").disconnect(1));
    try (var lines = openStream("/api/chat", chat("llama3", "drop", true))) {
      assertEquals("a ", JSON.readTree(lines.readLine()).path("message").path("content").asText());
      assertThrows(IOException.class, () -> {
        while (lines.readLine() != null) {
          // drain until the broken chunked body fails
        }
      });
    }
  }

  @Test
  void delayBeforeHeadersOutlastsAShortClientTimeout() {
    ollama.whenPromptContains("load").reply(ScriptedReply.text("ready").delayBeforeHeaders(Duration.ofSeconds(5)));
    var request = HttpRequest.newBuilder(URI.create(ollama.url() + "/api/chat")).timeout(Duration.ofMillis(300))
        .POST(HttpRequest.BodyPublishers.ofString(chat("llama3", "load", true))).build();
    assertThrows(HttpTimeoutException.class, () -> http.send(request, HttpResponse.BodyHandlers.ofString()));
  }

  @Test
  void delayPerTokenSlowsTheStreamDown() throws Exception {
    ollama.whenPromptContains("slow").reply(ScriptedReply.text("a b c").delayPerToken(Duration.ofMillis(100)));
    long start = System.nanoTime();
    var response = post("/api/chat", chat("llama3", "slow", true));
    // two gaps between three tokens and one before the final chunk
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 300);
    assertEquals(4, lines(response.body()).size());
  }

  @Test
  void stalledStreamSendsNothingMoreUntilClosed() throws Exception {
    ollama.whenPromptContains("stuck").reply(ScriptedReply.text("a b c").stallAfter(1));
    try (var lines = openStream("/api/chat", chat("llama3", "stuck", true))) {
      assertEquals("a ", JSON.readTree(lines.readLine()).path("message").path("content").asText());
      CompletableFuture<String> next = CompletableFuture.supplyAsync(() -> {
        try {
          return lines.readLine();
        } catch (IOException e) {
          return "failed: " + e;
        }
      });
      assertThrows(TimeoutException.class, () -> next.get(300, TimeUnit.MILLISECONDS));
      ollama.close();
      next.get(WAIT.toMillis(), TimeUnit.MILLISECONDS); // released (end of body or a broken connection)
    }
  }

  @Test
  void hangNeverAnswersAndCountsAsInFlight() throws Exception {
    ollama.whenPromptContains("hang").reply(ScriptedReply.text("never").hang());
    var request = HttpRequest.newBuilder(URI.create(ollama.url() + "/api/chat")).timeout(Duration.ofMillis(300))
        .POST(HttpRequest.BodyPublishers.ofString(chat("llama3", "hang", false))).build();
    assertThrows(HttpTimeoutException.class, () -> http.send(request, HttpResponse.BodyHandlers.ofString()));
    assertTrue(ollama.awaitInFlight(1, WAIT));
    assertFalse(ollama.awaitIdle(Duration.ofMillis(200)), "still held after the client gave up");
  }

  @Test
  void busyRuleAnswers503ThenFallsThrough() throws Exception {
    ollama.always().times(1).reply(ScriptedReply.busy());
    assertError(post("/api/chat", chat("llama3", "hi", false)), 503,
        "server busy, please try again.  maximum pending requests exceeded");
    assertEquals(200, post("/api/chat", chat("llama3", "hi", false)).statusCode());
  }

  @Test
  void scriptedErrorStatusesAndDefaultReply() throws Exception {
    ollama.whenPromptContains("bad").reply(ScriptedReply.error(400, "bad things"));
    assertError(post("/api/chat", chat("llama3", "bad", false)), 400, "bad things");
    ollama.defaultReply("fallback");
    assertEquals("fallback", JSON.readTree(post("/api/chat", chat("llama3", "other", false)).body())
        .path("message").path("content").asText());
  }

  @Test
  void inFlightIsCountedAndMaxInFlightAnswers503() throws Exception {
    var gate = new CountDownLatch(1);
    ollama.maxInFlight(2).whenPromptContains("held").reply(ScriptedReply.text("done").heldUntil(gate));
    var first = postAsync("/api/chat", chat("llama3", "held", false));
    var second = postAsync("/api/chat", chat("llama3", "held", false));
    assertTrue(ollama.awaitInFlight(2, WAIT));
    assertError(post("/api/chat", chat("llama3", "held", false)), 503, OllamaStandIn.QUEUE_FULL);
    gate.countDown();
    assertEquals(200, first.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).statusCode());
    assertEquals(200, second.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).statusCode());
    assertEquals(2, ollama.peakInFlight());
    assertTrue(ollama.awaitIdle(WAIT));
    assertEquals(0, ollama.inFlight());
  }

  @Test
  void removedModelIsMissingEverywhere() throws Exception {
    ollama.removeModel("llama3");
    assertEquals("{\"models\":[]}", get("/api/tags").body());
    assertError(post("/api/chat", chat("llama3", "hi", false)), 404, "model 'llama3' not found");
  }

  @Test
  void serverGoesDownAndComesBackOnTheSameUrl() throws Exception {
    String url = ollama.url();
    ollama.goDown();
    var refused = assertThrows(IOException.class, () -> get("/api/version"));
    assertTrue(refused instanceof ConnectException || refused.getCause() instanceof ConnectException, refused.toString());
    ollama.comeBack();
    assertEquals(url, ollama.url());
    assertEquals(200, get("/api/version").statusCode());
  }

  @Test
  void failAllRequestsLooksLikeABrokenProxy() throws Exception {
    ollama.failAllRequests(502, "bad gateway");
    assertError(get("/api/tags"), 502, "bad gateway");
    ollama.stopFailingRequests();
    assertEquals(200, get("/api/tags").statusCode());
  }

  @Test
  void awaitRequestsWaitsForLateRequests() throws Exception {
    var late = postAsync("/api/chat", chat("llama3", "hi", false));
    assertEquals(1, ollama.awaitRequests("/api/chat", 1, WAIT).size());
    late.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThrows(IllegalStateException.class, () -> ollama.awaitRequests("/api/pull", 1, Duration.ofMillis(50)));
  }

  // ------------------------------------------------------------ helpers

  private static String chat(String model, String content, boolean stream) {
    return "{\"model\":\"" + model + "\"," + (stream ? "" : "\"stream\":false,")
        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(ollama.url() + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
    return http.send(postRequest(path, body), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> delete(String body) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(ollama.url() + "/api/delete"))
        .method("DELETE", HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private CompletableFuture<HttpResponse<String>> postAsync(String path, String body) {
    return http.sendAsync(postRequest(path, body), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest postRequest(String path, String body) {
    return HttpRequest.newBuilder(URI.create(ollama.url() + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  private BufferedReader openStream(String path, String body) throws IOException, InterruptedException {
    HttpResponse<InputStream> response = http.send(postRequest(path, body), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    return new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
  }

  private static List<JsonNode> lines(String ndjson) throws IOException {
    assertTrue(ndjson.endsWith("\n"), "NDJSON ends with a newline");
    var lines = new ArrayList<JsonNode>();
    for (String line : ndjson.split("\n", -1)) {
      if (!line.isEmpty()) {
        assertFalse(line.isBlank(), "no blank lines");
        lines.add(JSON.readTree(line));
      }
    }
    assertFalse(ndjson.contains("\n\n"), "no blank lines");
    return lines;
  }

  private static String content(HttpResponse<String> response) throws IOException {
    assertEquals(200, response.statusCode(), response.body());
    return JSON.readTree(response.body()).path("message").path("content").asText();
  }

  private static void assertError(HttpResponse<String> response, int status, String message) throws IOException {
    assertEquals(status, response.statusCode(), response.body());
    assertEquals(message, JSON.readTree(response.body()).path("error").asText(), response.body());
  }
}
