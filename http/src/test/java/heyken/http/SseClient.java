package heyken.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Reads a text/event-stream over real HTTP, event by event, as a browser's EventSource would. */
final class SseClient implements AutoCloseable {

  record Event(String type, String data, String retry) {}

  private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
  private final CompletableFuture<HttpResponse<Stream<String>>> response;

  SseClient(URI uri) {
    response = HttpClient.newHttpClient().sendAsync(
        HttpRequest.newBuilder(uri).header("Accept", "text/event-stream").build(),
        HttpResponse.BodyHandlers.ofLines());
    response.thenAcceptAsync(r -> {
      String type = null;
      String retry = null;
      var data = new StringBuilder();
      try (Stream<String> lines = r.body()) {
        for (var it = lines.iterator(); it.hasNext(); ) {
          String line = it.next();
          if (line.isEmpty()) {
            if (type != null || data.length() > 0 || retry != null) {
              events.add(new Event(type == null ? "message" : type, data.toString(), retry));
            }
            type = null;
            retry = null;
            data.setLength(0);
          } else if (line.startsWith(":")) {
            events.add(new Event("comment", line, null));
          } else if (line.startsWith("event:")) {
            type = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            if (data.length() > 0) {
              data.append('\n');
            }
            data.append(line.substring(5).stripLeading());
          } else if (line.startsWith("retry:")) {
            retry = line.substring(6).trim();
          }
        }
      } catch (RuntimeException e) {
        // closed by the test
      }
      events.add(new Event("end", "", null));
    });
  }

  HttpResponse<Stream<String>> response() throws Exception {
    return response.get(10, TimeUnit.SECONDS);
  }

  /** The next event of {@code type}, skipping others; fails after {@code timeout}. */
  Event next(String type, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      Event e = left <= 0 ? null : events.poll(left, TimeUnit.NANOSECONDS);
      if (e == null) {
        throw new AssertionError("no '" + type + "' event within " + timeout.toMillis() + " ms");
      }
      if (e.type().equals(type)) {
        return e;
      }
      if (e.type().equals("end")) {
        throw new AssertionError("the stream ended before a '" + type + "' event");
      }
    }
  }

  /** The next event, whatever its type. */
  Event next(Duration timeout) throws InterruptedException {
    Event e = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (e == null) {
      throw new AssertionError("no event within " + timeout.toMillis() + " ms");
    }
    return e;
  }

  @Override
  public void close() {
    response.thenAccept(r -> r.body().close());
    response.cancel(true);
  }
}
