package heyken.testkit.browser;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Debian's Chromium, headless, driven over the DevTools protocol (CDP) from plain Java: open a page, evaluate
 * JavaScript in it, wait for a condition, take a screenshot. Each instance has its own fresh profile directory and
 * ends every process it started on {@link #close()}. No npm, no WebDriver.
 */
public final class HeadlessChromium implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<String> problems = Collections.synchronizedList(new ArrayList<>());

  /**
   * The browser to use: {@code HEYKEN_BROWSER} when set, else {@code chromium} or {@code chromium-browser} on the
   * PATH (scripts/browser.sh installs it).
   */
  public static Optional<Path> find() {
    String configured = System.getenv("HEYKEN_BROWSER");
    if (configured != null && !configured.isBlank()) {
      return Optional.of(Path.of(configured)).filter(Files::isExecutable);
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String name : List.of("chromium", "chromium-browser")) {
      for (String dir : path.split(":")) {
        Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
        if (Files.isExecutable(candidate)) {
          return Optional.of(candidate);
        }
      }
    }
    return Optional.empty();
  }

  /** Starts the browser on {@code url}; its output goes to {@code log}. */
  public static HeadlessChromium open(Path browser, String url, Path log) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("heyken-chromium-");
    var command = List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--window-size=1280,1400",
        "--user-data-dir=" + profile, "--remote-debugging-port=0", "--remote-allow-origins=*", url);
    Process process = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    try {
      int port = devToolsPort(process, profile, log);
      String pageSocket = pageSocket(port, url);
      return new HeadlessChromium(process, profile, pageSocket);
    } catch (IOException | RuntimeException | InterruptedException e) {
      stop(process, profile);
      throw e;
    }
  }

  /** Chromium writes the port it chose into DevToolsActivePort in its profile. */
  private static int devToolsPort(Process process, Path profile, Path log) throws IOException, InterruptedException {
    Path file = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("chromium ended at start (exit " + process.exitValue() + "); see " + log);
      }
      if (Files.exists(file)) {
        var lines = Files.readAllLines(file);
        if (!lines.isEmpty() && lines.get(0).matches("\\d+")) {
          return Integer.parseInt(lines.get(0));
        }
      }
      Thread.sleep(50); // polling a file the browser writes, with a deadline
    }
    throw new IOException("chromium did not open its DevTools port within 30 s; see " + log);
  }

  private static String pageSocket(int port, String url) throws IOException, InterruptedException {
    var http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      var response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
          HttpResponse.BodyHandlers.ofString());
      for (JsonNode target : JSON.readTree(response.body())) {
        if ("page".equals(target.path("type").asText()) && target.has("webSocketDebuggerUrl")) {
          return target.get("webSocketDebuggerUrl").asText();
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("chromium shows no page for " + url + ": " + response.body());
      }
      Thread.sleep(100);
    }
  }

  private HeadlessChromium(Process process, Path profile, String pageSocket) {
    this.process = process;
    this.profile = profile;
    this.socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
        .buildAsync(URI.create(pageSocket), new Listener()).join();
    send("Runtime.enable", JSON.createObjectNode(), Duration.ofSeconds(10));
    send("Page.enable", JSON.createObjectNode(), Duration.ofSeconds(10));
  }

  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        String message = text.toString();
        text.setLength(0);
        handle(message);
      }
      webSocket.request(1);
      return null;
    }
  }

  private void handle(String message) {
    try {
      JsonNode node = JSON.readTree(message);
      if (node.has("id")) {
        var future = pending.remove(node.get("id").asLong());
        if (future != null) {
          future.complete(node);
        }
        return;
      }
      String method = node.path("method").asText();
      if (method.equals("Runtime.exceptionThrown")) {
        problems.add("uncaught: " + node.path("params").path("exceptionDetails").toString());
      } else if (method.equals("Runtime.consoleAPICalled")
          && node.path("params").path("type").asText().equals("error")) {
        problems.add("console.error: " + node.path("params").path("args").toString());
      }
    } catch (IOException e) {
      problems.add("unreadable DevTools message: " + e.getMessage());
    }
  }

  /** One DevTools command; its {@code result}, or an exception with the browser's error. */
  public JsonNode send(String method, ObjectNode params, Duration timeout) {
    long id = ids.incrementAndGet();
    var future = new CompletableFuture<JsonNode>();
    pending.put(id, future);
    ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
    message.set("params", params);
    socket.sendText(message.toString(), true).join();
    JsonNode answer;
    try {
      answer = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      pending.remove(id);
      throw new IllegalStateException(method + " got no answer within " + timeout.toMillis() + " ms", e);
    }
    if (answer.has("error")) {
      throw new IllegalStateException(method + " failed: " + answer.get("error"));
    }
    return answer.path("result");
  }

  /** Evaluates {@code expression} in the page (promises awaited) and returns its value as JSON. */
  public JsonNode evaluate(String expression) {
    ObjectNode params = JSON.createObjectNode().put("expression", expression).put("returnByValue", true)
        .put("awaitPromise", true);
    JsonNode result = send("Runtime.evaluate", params, Duration.ofSeconds(20));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException("the page threw on `" + expression + "`: " + result.get("exceptionDetails"));
    }
    return result.path("result").path("value");
  }

  /** Waits until {@code expression} is true in the page, polling; fails with {@code describe}'s value when not. */
  public void awaitTrue(String what, Duration timeout, String expression, String describe) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (evaluate(expression).asBoolean(false)) {
          return;
        }
        last = null;
      } catch (RuntimeException e) {
        last = e;
      }
      try {
        Thread.sleep(100); // polling the page with a deadline
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + what, e);
      }
    }
    String state;
    try {
      state = evaluate(describe).toString();
    } catch (RuntimeException e) {
      state = "(the page cannot be read: " + e.getMessage() + ")";
    }
    throw new AssertionError("the page did not show " + what + " within " + timeout.toSeconds() + " s; it shows "
        + state + (last == null ? "" : "; last error: " + last.getMessage()));
  }

  /**
   * Chooses {@code files} in the page's file input {@code selector} (DOM.setFileInputFiles), as a user picking them
   * would; for an {@code <input webkitdirectory>} give the folder, and the page sees its files with their paths.
   */
  public void setFileInputFiles(String selector, List<Path> files) {
    ObjectNode find = JSON.createObjectNode().put("expression", "document.querySelector(" + JSON.valueToTree(selector)
        + ")").put("returnByValue", false);
    JsonNode found = send("Runtime.evaluate", find, Duration.ofSeconds(20)).path("result");
    if (!found.has("objectId")) {
      throw new IllegalStateException("no element " + selector + " in the page: " + found);
    }
    ObjectNode params = JSON.createObjectNode().put("objectId", found.get("objectId").asText());
    var array = params.putArray("files");
    files.forEach(f -> array.add(f.toAbsolutePath().toString()));
    send("DOM.setFileInputFiles", params, Duration.ofSeconds(20));
    // the page hears of the choice as a user's: input and change events
    evaluate("(() => { const e = document.querySelector(" + JSON.valueToTree(selector) + ");"
        + " e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));"
        + " return e.files.length; })()");
  }

  /** A PNG of the whole page. */
  public void screenshot(Path png) throws IOException {
    ObjectNode params = JSON.createObjectNode().put("format", "png").put("captureBeyondViewport", true);
    JsonNode result = send("Page.captureScreenshot", params, Duration.ofSeconds(30));
    Files.createDirectories(png.toAbsolutePath().getParent());
    Files.write(png, Base64.getDecoder().decode(result.get("data").asText()));
  }

  /** Uncaught exceptions and console errors the page has had so far. */
  public List<String> problems() {
    synchronized (problems) {
      return List.copyOf(problems);
    }
  }

  @Override
  public void close() {
    try {
      socket.abort();
    } finally {
      stop(process, profile);
    }
  }

  private static void stop(Process process, Path profile) {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    heyken.testkit.TempDirs.delete(profile);
  }
}
