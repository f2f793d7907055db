package heyken.actors.gitlab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.TransportException;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.PushResult;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.RemoteRefUpdate;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link GitHost} on GitLab's REST API v4 (java.net.http) and JGit pushes over HTTP(S) as {@code oauth2:<token>}.
 * Transient failures (unreachable, timeouts, 5xx, 429) are tried again with backoff; 401, 403, 404 and other refusals
 * are not, and say what to fix.
 */
public final class GitLabHost implements GitHost {

  private static final Logger log = LoggerFactory.getLogger(GitLabHost.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(300);

  private final GitLabSettings settings;
  private final HttpClient http;
  private volatile String namespace; // the token user's, when no group is configured

  public GitLabHost(GitLabSettings settings) {
    if (!settings.enabled()) {
      throw new IllegalArgumentException("GitLab needs both heyken.gitlab.url (GITLAB_URL) and token (GITLAB_TOKEN)");
    }
    this.settings = settings;
    this.http = HttpClient.newBuilder().connectTimeout(settings.requestTimeout())
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  // ---------------------------------------------------------------- projects

  @Override
  public Project ensureProject(String path, String description) {
    String full = namespace() + "/" + path;
    var found = find("/projects/" + enc(full), "project " + full);
    if (found.isPresent()) {
      return project(found.get());
    }
    long namespaceId = settings.group().isEmpty()
        ? call("GET", "/user", null, "the token's user").path("namespace_id").asLong(0)
        : call("GET", "/groups/" + enc(settings.group()), null, "group " + settings.group()
            + " (GITLAB_GROUP: create the group or name an existing one)").path("id").asLong();
    ObjectNode body = JSON.createObjectNode().put("name", path).put("path", path).put("description", description)
        .put("visibility", "private").put("initialize_with_readme", false);
    if (namespaceId != 0) {
      body.put("namespace_id", namespaceId);
    }
    try {
      var created = project(call("POST", "/projects", body, "creating project " + full));
      log.info("GitLab project {} created ({})", created.path(), created.webUrl());
      return created;
    } catch (GitHostException e) {
      // created meanwhile by someone else (another core after a failover): use it
      if (e.kind() == GitHostException.Kind.REJECTED && e.getMessage().contains("taken")) {
        return find("/projects/" + enc(full), "project " + full).map(GitLabHost::project).orElseThrow(() -> e);
      }
      throw e;
    }
  }

  private String namespace() {
    if (!settings.group().isEmpty()) {
      return settings.group();
    }
    if (namespace == null) {
      namespace = call("GET", "/user", null, "the token's user").path("username").asText();
    }
    return namespace;
  }

  private static Project project(JsonNode p) {
    return new Project(p.path("id").asLong(), p.path("path_with_namespace").asText(), p.path("web_url").asText(),
        p.path("http_url_to_repo").asText(), text(p, "default_branch"));
  }

  // ---------------------------------------------------------------- git

  @Override
  public void push(Path gitDir, String revision, Project project, String branch) {
    retrying("pushing " + shortRev(revision) + " to " + project.path() + " branch " + branch, () -> {
      try (var repo = new FileRepositoryBuilder().setGitDir(gitDir.toFile()).setMustExist(true).build();
           var git = new Git(repo)) {
        Iterable<PushResult> results = git.push().setRemote(project.httpUrlToRepo())
            .setRefSpecs(new RefSpec(revision + ":refs/heads/" + branch))
            .setCredentialsProvider(new UsernamePasswordCredentialsProvider("oauth2", settings.token()))
            .setTimeout((int) Math.max(1, settings.requestTimeout().toSeconds()))
            .call();
        for (PushResult result : results) {
          for (RemoteRefUpdate update : result.getRemoteUpdates()) {
            var status = update.getStatus();
            if (status != RemoteRefUpdate.Status.OK && status != RemoteRefUpdate.Status.UP_TO_DATE) {
              String why = status == RemoteRefUpdate.Status.REJECTED_NONFASTFORWARD
                  ? "the branch holds other commits (not a fast-forward)" : status + (update.getMessage() == null
                  ? "" : ": " + update.getMessage());
              throw new GitHostException(GitHostException.Kind.REJECTED, 0, "GitLab refused the push of "
                  + shortRev(revision) + " to " + project.path() + " branch " + branch + ": " + why);
            }
          }
        }
        return null;
      } catch (TransportException e) {
        throw pushFailure(e, project);
      } catch (GitAPIException e) {
        throw new GitHostException(GitHostException.Kind.REJECTED, 0, "push to " + project.path() + " failed: "
            + e.getMessage(), e);
      } catch (IOException e) {
        throw new GitHostException(GitHostException.Kind.REJECTED, 0, "the local repository " + gitDir
            + " cannot be read: " + e.getMessage(), e);
      }
    });
  }

  private GitHostException pushFailure(TransportException e, Project project) {
    String m = String.valueOf(e.getMessage());
    String lower = m.toLowerCase();
    if (lower.contains("not authorized") || lower.contains("authentication is required") || lower.contains("401")) {
      return new GitHostException(GitHostException.Kind.UNAUTHORIZED, 401, "GitLab refused the token for git push to "
          + project.httpUrlToRepo() + " (" + m + "): check GITLAB_TOKEN (it needs the write_repository scope)", e);
    }
    if (lower.contains("403") || lower.contains("forbidden")) {
      return new GitHostException(GitHostException.Kind.FORBIDDEN, 403, "the token may not push to "
          + project.path() + " (" + m + "): it needs the write_repository scope and Developer role", e);
    }
    if (lower.contains("404") || lower.contains("not found")) {
      return new GitHostException(GitHostException.Kind.NOT_FOUND, 404, "no git repository at "
          + project.httpUrlToRepo() + " (" + m + ")", e);
    }
    return new GitHostException(GitHostException.Kind.UNAVAILABLE, 0, "git push to " + project.httpUrlToRepo()
        + " failed: " + m, e);
  }

  @Override
  public Optional<String> branchHead(Project project, String branch) {
    return find("/projects/" + project.id() + "/repository/branches/" + enc(branch), "branch " + branch)
        .map(b -> b.path("commit").path("id").asText());
  }

  // ---------------------------------------------------------------- merge requests

  @Override
  public MergeRequest openMergeRequest(Project project, String sourceBranch, String targetBranch, String title,
      String description) {
    var existing = existingMergeRequest(project, sourceBranch);
    if (existing.isPresent()) {
      return existing.get();
    }
    ObjectNode body = JSON.createObjectNode().put("source_branch", sourceBranch).put("target_branch", targetBranch)
        .put("title", title).put("description", description).put("remove_source_branch", false);
    try {
      var mr = mergeRequest(call("POST", "/projects/" + project.id() + "/merge_requests", body,
          "opening a merge request " + sourceBranch + " → " + targetBranch + " in " + project.path()));
      log.info("GitLab merge request !{} opened in {}: {} → {}", mr.iid(), project.path(), sourceBranch, targetBranch);
      return mr;
    } catch (GitHostException e) {
      if (e.status() == 409) { // opened meanwhile ("Another open merge request already exists")
        return existingMergeRequest(project, sourceBranch).orElseThrow(() -> e);
      }
      throw e;
    }
  }

  private Optional<MergeRequest> existingMergeRequest(Project project, String sourceBranch) {
    JsonNode list = call("GET", "/projects/" + project.id() + "/merge_requests?state=all&order_by=created_at"
        + "&sort=desc&source_branch=" + enc(sourceBranch), null, "merge requests of " + project.path());
    return list.isArray() && list.size() > 0 ? Optional.of(mergeRequest(list.get(0))) : Optional.empty();
  }

  @Override
  public MergeRequest mergeRequest(Project project, long iid) {
    return mergeRequest(call("GET", "/projects/" + project.id() + "/merge_requests/" + iid, null,
        "merge request !" + iid + " of " + project.path()));
  }

  @Override
  public MergeRequest merge(Project project, long iid) {
    return mergeRequest(call("PUT", "/projects/" + project.id() + "/merge_requests/" + iid + "/merge",
        JSON.createObjectNode(), "merging merge request !" + iid + " of " + project.path()));
  }

  private static MergeRequest mergeRequest(JsonNode m) {
    return new MergeRequest(m.path("iid").asLong(), m.path("web_url").asText(), m.path("state").asText(),
        m.path("source_branch").asText(), m.path("target_branch").asText());
  }

  // ---------------------------------------------------------------- pipelines

  @Override
  public Optional<Pipeline> latestPipeline(Project project, String ref, String sha) {
    JsonNode list = call("GET", "/projects/" + project.id() + "/pipelines?order_by=id&sort=desc&per_page=1&ref="
        + enc(ref) + "&sha=" + enc(sha), null, "pipelines of " + project.path());
    if (!list.isArray() || list.size() == 0) {
      return Optional.empty();
    }
    JsonNode p = list.get(0);
    return Optional.of(new Pipeline(p.path("id").asLong(), p.path("status").asText(), p.path("web_url").asText(),
        p.path("sha").asText(), p.path("ref").asText()));
  }

  @Override
  public List<Job> jobs(Project project, long pipelineId) {
    JsonNode list = call("GET", "/projects/" + project.id() + "/pipelines/" + pipelineId + "/jobs?per_page=100",
        null, "jobs of pipeline " + pipelineId);
    var jobs = new ArrayList<Job>();
    for (JsonNode j : list) {
      jobs.add(new Job(j.path("id").asLong(), j.path("name").asText(), j.path("stage").asText(),
          j.path("status").asText()));
    }
    jobs.sort(java.util.Comparator.comparingLong(Job::id));
    return jobs;
  }

  // ---------------------------------------------------------------- HTTP

  /** The resource, or empty on 404. */
  private Optional<JsonNode> find(String path, String what) {
    try {
      return Optional.of(call("GET", path, null, what));
    } catch (GitHostException e) {
      if (e.kind() == GitHostException.Kind.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private JsonNode call(String method, String path, JsonNode body, String what) {
    return retrying(what, () -> {
      var request = HttpRequest.newBuilder(URI.create(settings.apiBase() + path))
          .timeout(settings.requestTimeout())
          .header("PRIVATE-TOKEN", settings.token())
          .header("Accept", "application/json");
      if (body != null) {
        request.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
      } else {
        request.method(method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<String> response;
      try {
        response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        throw new GitHostException(GitHostException.Kind.UNAVAILABLE, 0, "GitLab at " + settings.url()
            + " is unreachable (" + e + ")", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new GitHostException(GitHostException.Kind.UNAVAILABLE, 0, "interrupted while " + what, e);
      }
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        try {
          return response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
        } catch (IOException e) {
          throw new GitHostException(GitHostException.Kind.UNAVAILABLE, status, "GitLab at " + settings.url()
              + " answered " + what + " with something that is not JSON (a proxy page?): " + abbreviate(
              response.body()), e);
        }
      }
      throw failure(status, message(response.body()), method, what);
    });
  }

  private GitHostException failure(int status, String message, String method, String what) {
    if (status == 401) {
      return new GitHostException(GitHostException.Kind.UNAUTHORIZED, status, "GitLab at " + settings.url()
          + " refused the token (401 " + message + "): check GITLAB_TOKEN — it must be a valid, unexpired access "
          + "token with the api and write_repository scopes");
    }
    if (status == 403) {
      return new GitHostException(GitHostException.Kind.FORBIDDEN, status, "GitLab at " + settings.url()
          + " does not let the token do this: " + method + " " + what + " (403 " + message + "): give the token's "
          + "user the Developer (or Maintainer, to create projects) role in the group");
    }
    if (status == 404) {
      return new GitHostException(GitHostException.Kind.NOT_FOUND, status, what + " not found on GitLab at "
          + settings.url() + " (404 " + message + ")");
    }
    if (status == 429 || status >= 500) {
      return new GitHostException(GitHostException.Kind.UNAVAILABLE, status, "GitLab at " + settings.url()
          + " is unavailable (" + status + " " + message + ")");
    }
    return new GitHostException(GitHostException.Kind.REJECTED, status, "GitLab refused " + what + " (" + status
        + " " + message + ")");
  }

  private <T> T retrying(String what, Supplier<T> call) {
    Duration backoff = FIRST_BACKOFF;
    for (int attempt = 1; ; attempt++) {
      try {
        return call.get();
      } catch (GitHostException e) {
        if (!e.transientFailure() || attempt >= settings.attempts()) {
          if (e.transientFailure() && settings.attempts() > 1) {
            throw new GitHostException(e.kind(), e.status(), e.getMessage() + " — gave up " + what + " after "
                + attempt + " attempts", e.getCause());
          }
          throw e;
        }
        log.debug("GitLab: {} failed (attempt {} of {}), trying again in {} ms: {}", what, attempt,
            settings.attempts(), backoff.toMillis(), e.getMessage());
        try {
          Thread.sleep(backoff.toMillis()); // backoff between attempts on a blocking thread, not synchronization
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
        backoff = backoff.multipliedBy(2);
      }
    }
  }

  /** GitLab's {@code message}/{@code error} field (a string, a list or an object of lists). */
  private static String message(String body) {
    try {
      JsonNode json = JSON.readTree(body);
      JsonNode m = json.has("message") ? json.get("message") : json.path("error");
      if (m.isMissingNode() || m.isNull()) {
        return abbreviate(body);
      }
      return m.isTextual() ? m.asText() : m.toString();
    } catch (IOException | RuntimeException e) {
      return abbreviate(body);
    }
  }

  private static String abbreviate(String s) {
    String one = s == null ? "" : s.replaceAll("\\s+", " ").strip();
    return one.length() > 200 ? one.substring(0, 200) + "…" : one;
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.path(field);
    return v.isMissingNode() || v.isNull() ? null : v.asText();
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  static String shortRev(String revision) {
    return revision.length() > 8 ? revision.substring(0, 8) : revision;
  }
}
