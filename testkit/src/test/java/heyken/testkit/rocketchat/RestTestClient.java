package heyken.testkit.rocketchat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain REST calls against the stand-in for its protocol tests: status, headers and body as they came. */
final class RestTestClient {

  static final ObjectMapper JSON = new ObjectMapper();

  record Response(int status, JsonNode body, HttpHeaders headers) {
    String header(String name) {
      return headers.firstValue(name).orElse(null);
    }
  }

  /** {@code userId}/{@code token} of a login, sent as {@code X-User-Id}/{@code X-Auth-Token}. */
  record Auth(String userId, String token) {}

  private final String base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  RestTestClient(String baseUrl) {
    this.base = baseUrl;
  }

  Response get(String endpoint, Auth auth) {
    return send(HttpRequest.newBuilder(URI.create(base + "/api/v1/" + endpoint)).GET(), auth, new String[0]);
  }

  Response post(String endpoint, Auth auth, String jsonBody, String... headers) {
    return send(HttpRequest.newBuilder(URI.create(base + "/api/v1/" + endpoint))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(jsonBody)), auth, headers);
  }

  /** Password login; fails the test unless it succeeds. */
  Auth login(String user, String password) {
    Response r = post("login", null, "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}");
    if (r.status() != 200) {
      throw new AssertionError("login of " + user + " failed: " + r.status() + " " + r.body());
    }
    return new Auth(r.body().path("data").path("userId").asText(), r.body().path("data").path("authToken").asText());
  }

  private Response send(HttpRequest.Builder b, Auth auth, String[] headers) {
    if (auth != null) {
      b.header("X-User-Id", auth.userId()).header("X-Auth-Token", auth.token());
    }
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    try {
      HttpResponse<String> r = http.send(b.timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body()),
          r.headers());
    } catch (IOException e) {
      throw new AssertionError("REST call failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
