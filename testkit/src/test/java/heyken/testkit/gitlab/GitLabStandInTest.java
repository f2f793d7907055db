package heyken.testkit.gitlab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stand-in's own rules: who may call it, what GitLab's answers look like, and its hooks. */
class GitLabStandInTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static GitLabStandIn gitlab;

  @BeforeAll
  static void start() throws Exception {
    gitlab = GitLabStandIn.start(Files.createTempDirectory("heyken-gitlab-standin-test-"), "t0ken", "heyken");
  }

  @AfterAll
  static void stop() {
    gitlab.close();
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest.Builder api(String path) {
    return HttpRequest.newBuilder(URI.create(gitlab.url() + "/api/v4" + path));
  }

  @Test
  void theApiTakesThePrivateTokenOrABearerTokenAndNothingElse() throws Exception {
    assertEquals(200, send(api("/user").header("PRIVATE-TOKEN", "t0ken")).statusCode());
    assertEquals(200, send(api("/user").header("Authorization", "Bearer t0ken")).statusCode());
    var none = send(api("/user"));
    assertEquals(401, none.statusCode());
    assertEquals("401 Unauthorized", JSON.readTree(none.body()).get("message").asText());
    assertEquals(401, send(api("/user").header("PRIVATE-TOKEN", "wrong")).statusCode());
    gitlab.revokeToken("t0ken");
    try {
      assertEquals(401, send(api("/user").header("PRIVATE-TOKEN", "t0ken")).statusCode());
    } finally {
      gitlab.addToken("t0ken");
    }
  }

  @Test
  void projectsAreCreatedInAGroupOnceAndFoundByPath() throws Exception {
    var body = "{\"name\":\"standin-p\",\"path\":\"standin-p\",\"namespace_id\":"
        + JSON.readTree(send(api("/groups/heyken").header("PRIVATE-TOKEN", "t0ken")).body()).get("id").asLong() + "}";
    var created = send(api("/projects").header("PRIVATE-TOKEN", "t0ken").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertEquals(201, created.statusCode(), created.body());
    JsonNode project = JSON.readTree(created.body());
    assertEquals("heyken/standin-p", project.get("path_with_namespace").asText());
    assertEquals(gitlab.url() + "/heyken/standin-p.git", project.get("http_url_to_repo").asText());
    assertTrue(project.get("default_branch").isNull());

    var again = send(api("/projects").header("PRIVATE-TOKEN", "t0ken").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertEquals(400, again.statusCode());
    assertTrue(again.body().contains("has already been taken"), again.body());
    assertEquals(200, send(api("/projects/heyken%2Fstandin-p").header("PRIVATE-TOKEN", "t0ken")).statusCode());
    var missing = send(api("/projects/heyken%2Fnope").header("PRIVATE-TOKEN", "t0ken"));
    assertEquals(404, missing.statusCode());
    assertEquals("404 Project Not Found", JSON.readTree(missing.body()).get("message").asText());
    assertEquals(404, send(api("/groups/nope").header("PRIVATE-TOKEN", "t0ken")).statusCode());
  }

  @Test
  void gitAsksForBasicAuthAndTakesTheTokenAsPassword() throws Exception {
    send(api("/projects").header("PRIVATE-TOKEN", "t0ken").header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"standin-git\",\"namespace_id\":"
            + JSON.readTree(send(api("/groups/heyken").header("PRIVATE-TOKEN", "t0ken")).body()).get("id").asLong()
            + "}")));
    var refs = HttpRequest.newBuilder(URI.create(gitlab.url()
        + "/heyken/standin-git.git/info/refs?service=git-receive-pack"));
    var anonymous = send(refs);
    assertEquals(401, anonymous.statusCode());
    assertTrue(anonymous.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic"));
    String good = Base64.getEncoder().encodeToString("oauth2:t0ken".getBytes(StandardCharsets.UTF_8));
    String bad = Base64.getEncoder().encodeToString("oauth2:nope".getBytes(StandardCharsets.UTF_8));
    assertEquals(401, send(refs.copy().header("Authorization", "Basic " + bad)).statusCode());
    var advertised = send(refs.copy().header("Authorization", "Basic " + good));
    assertEquals(200, advertised.statusCode());
    assertEquals("application/x-git-receive-pack-advertisement",
        advertised.headers().firstValue("Content-Type").orElse(""));
    assertTrue(advertised.body().startsWith("001f# service=git-receive-pack\n0000"), advertised.body());
  }

  @Test
  void anUnavailableStandInAnswers503ToEverything() throws Exception {
    gitlab.setAvailable(false);
    try {
      assertEquals(503, send(api("/user").header("PRIVATE-TOKEN", "t0ken")).statusCode());
      assertEquals(503, send(HttpRequest.newBuilder(URI.create(gitlab.url()
          + "/heyken/x.git/info/refs?service=git-upload-pack"))).statusCode());
    } finally {
      gitlab.setAvailable(true);
    }
    assertFalse(gitlab.requests().isEmpty());
  }
}
