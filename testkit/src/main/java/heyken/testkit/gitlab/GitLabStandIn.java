package heyken.testkit.gitlab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.PacketLineOut;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.ReceivePack;
import org.eclipse.jgit.transport.RefAdvertiser;
import org.eclipse.jgit.transport.UploadPack;
import org.eclipse.jgit.treewalk.TreeWalk;

/**
 * A fake GitLab for tests: the parts of REST API v4 Heyken uses, and a real git remote. Listens on
 * {@code 127.0.0.1} (JDK HTTP server).
 *
 * <h2>REST ({@code /api/v4})</h2>
 * Authenticated by {@code PRIVATE-TOKEN: <token>} or {@code Authorization: Bearer <token>}; anything else is
 * 401 {@code {"message":"401 Unauthorized"}}. {@code GET /user}; {@code GET /groups/:id}; {@code GET /projects/:id}
 * and {@code POST /projects} ({@code name, path, namespace_id, description}; a taken path is 400
 * {@code {"message":{"path":["has already been taken"]}}}); {@code GET /projects/:id/repository/branches[/:branch]};
 * {@code GET /projects/:id/repository/files/:file/raw?ref=}; {@code GET|POST /projects/:id/merge_requests}
 * ({@code source_branch, state} filters; 409 when an open one exists for the source branch),
 * {@code GET /projects/:id/merge_requests/:iid}, {@code PUT .../merge_requests/:iid/merge} (405 unless opened);
 * {@code GET /projects/:id/pipelines} ({@code ref, sha} filters, newest first), {@code GET .../pipelines/:id},
 * {@code GET .../pipelines/:id/jobs}. {@code :id} is the numeric id or the URL-encoded full path, as in GitLab.
 * Unknown resources are 404 {@code {"message":"404 Project Not Found"}} (or Branch, Merge Request, ...).
 *
 * <h2>Git</h2>
 * Each project is a bare JGit repository under the directory given to {@link #start}; {@code http_url_to_repo}
 * ({@code http://127.0.0.1:port/<group>/<path>.git}) speaks git's smart HTTP protocol (receive-pack and
 * upload-pack, served by JGit's {@code ReceivePack}/{@code UploadPack} — JGit's servlet module is not used, so no
 * servlet container is needed). Git authenticates with HTTP Basic, any user name and a valid token as password
 * (GitLab's {@code oauth2:<token>}); without it 401 with {@code WWW-Authenticate: Basic}. The first branch pushed to
 * an empty project becomes its default branch, as on GitLab.
 *
 * <h2>Pipelines</h2>
 * Every push of a commit that has a {@code .gitlab-ci.yml} creates a pipeline ({@code pending}, source push) with one
 * job per top-level key of the file that is not a GitLab keyword (stage {@code test}). They never run by themselves:
 * {@link #setPipelineStatus} moves them (and their jobs) on, as GitLab's runners would.
 *
 * <h2>Hooks</h2>
 * {@link #merge} (what a reviewer does: fast-forward, else a merge commit with the source's tree),
 * {@link #setPipelineStatus}, {@link #setAvailable} (false: every request answers 503, like a GitLab restarting),
 * {@link #revokeToken}, and read-backs ({@link #readFile}, {@link #branchHead}, {@link #mergeRequests},
 * {@link #requests}).
 */
public final class GitLabStandIn implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GIT = Pattern.compile("^/(.+)\\.git/(info/refs|git-upload-pack|git-receive-pack)$");
  private static final Set<String> CI_KEYWORDS = Set.of("stages", "variables", "image", "default", "include",
      "workflow", "before_script", "after_script", "services", "cache");

  /** A merge request as the stand-in holds it. */
  public record MergeRequestSnapshot(long iid, String sourceBranch, String targetBranch, String state, String title) {}

  private final HttpServer server;
  private final ExecutorService executor;
  private final Path dir;
  private final Set<String> tokens = ConcurrentHashMap.newKeySet();
  private final Map<String, Long> groups = new LinkedHashMap<>();
  private final Map<Long, Project> projects = new LinkedHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile boolean available = true;
  private long nextId = 100;

  private final class Project {
    final long id;
    final String name;
    final String path;
    final String namespace;
    final String description;
    final Repository repo;
    String defaultBranch;
    final List<ObjectNode> mergeRequests = new ArrayList<>();
    final List<Pipeline> pipelines = new ArrayList<>();

    Project(long id, String name, String path, String namespace, String description, Repository repo) {
      this.id = id;
      this.name = name;
      this.path = path;
      this.namespace = namespace;
      this.description = description;
      this.repo = repo;
    }

    String fullPath() {
      return namespace + "/" + path;
    }

    String webUrl() {
      return url() + "/" + fullPath();
    }
  }

  private static final class Pipeline {
    final long id;
    final String ref;
    final String sha;
    String status = "pending";
    final List<ObjectNode> jobs = new ArrayList<>();

    Pipeline(long id, String ref, String sha) {
      this.id = id;
      this.ref = ref;
      this.sha = sha;
    }
  }

  private GitLabStandIn(Path dir, String token, List<String> groupPaths) throws IOException {
    this.dir = dir;
    tokens.add(token);
    for (String g : groupPaths) {
      groups.put(g, nextId++);
    }
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "gitlab-stand-in");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /**
   * A stand-in accepting {@code token}, with the given groups (full paths); repositories live under {@code dir}, which
   * {@link #close} deletes.
   */
  public static GitLabStandIn start(Path dir, String token, String... groups) {
    try {
      Files.createDirectories(dir);
      return new GitLabStandIn(dir, token, List.of(groups));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    synchronized (this) {
      projects.values().forEach(p -> p.repo.close());
    }
    heyken.testkit.TempDirs.delete(dir); // the repositories it held: the directory given to start is its own
  }

  // ---------------------------------------------------------------- hooks

  /** false: every request (REST and git) answers 503 until set back to true. */
  public void setAvailable(boolean available) {
    this.available = available;
  }

  public void revokeToken(String token) {
    tokens.remove(token);
  }

  public void addToken(String token) {
    tokens.add(token);
  }

  /** "METHOD path" of every request, in order. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  public synchronized List<String> projectPaths() {
    return projects.values().stream().map(Project::fullPath).toList();
  }

  /** Sets the newest pipeline of {@code ref} (and all its jobs) to {@code status}; false when there is none. */
  public synchronized boolean setPipelineStatus(String projectPath, String ref, String status) {
    var project = byPath(projectPath);
    if (project == null) {
      return false;
    }
    for (int i = project.pipelines.size() - 1; i >= 0; i--) {
      var p = project.pipelines.get(i);
      if (p.ref.equals(ref)) {
        p.status = status;
        p.jobs.forEach(j -> j.put("status", status));
        return true;
      }
    }
    return false;
  }

  /** Merges a merge request as a reviewer would; false when it is not open. */
  public synchronized boolean merge(String projectPath, long iid) {
    var project = byPath(projectPath);
    var mr = project == null ? null : mergeRequest(project, iid);
    return mr != null && doMerge(project, mr);
  }

  public synchronized List<MergeRequestSnapshot> mergeRequests(String projectPath) {
    var project = byPath(projectPath);
    if (project == null) {
      return List.of();
    }
    return project.mergeRequests.stream().map(m -> new MergeRequestSnapshot(m.get("iid").asLong(),
        m.get("source_branch").asText(), m.get("target_branch").asText(), m.get("state").asText(),
        m.get("title").asText())).toList();
  }

  public synchronized Optional<String> branchHead(String projectPath, String branch) {
    var project = byPath(projectPath);
    if (project == null) {
      return Optional.empty();
    }
    try {
      var ref = project.repo.exactRef(Constants.R_HEADS + branch);
      return ref == null ? Optional.empty() : Optional.of(ref.getObjectId().name());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A file's content on a branch of a project's repository. */
  public synchronized Optional<String> readFile(String projectPath, String branch, String file) {
    var project = byPath(projectPath);
    return project == null ? Optional.empty() : read(project, branch, file);
  }

  // ---------------------------------------------------------------- dispatch

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      requests.add(exchange.getRequestMethod() + " " + path);
      if (!available) {
        send(exchange, 503, json("message", "503 Service Unavailable: GitLab is restarting"));
        return;
      }
      Matcher git = GIT.matcher(path);
      if (git.matches()) {
        git(exchange, decode(git.group(1)), git.group(2));
      } else if (path.startsWith("/api/v4/")) {
        if (!authorized(exchange)) {
          send(exchange, 401, json("message", "401 Unauthorized"));
          return;
        }
        api(exchange, path.substring("/api/v4".length()));
      } else {
        send(exchange, 404, json("message", "404 Not Found"));
      }
    } catch (RuntimeException e) {
      send(exchange, 500, json("message", "500 Internal Server Error: " + e));
    }
  }

  private boolean authorized(HttpExchange exchange) {
    String privateToken = exchange.getRequestHeaders().getFirst("PRIVATE-TOKEN");
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (privateToken != null) {
      return tokens.contains(privateToken);
    }
    return authorization != null && authorization.startsWith("Bearer ")
        && tokens.contains(authorization.substring(7));
  }

  private void api(HttpExchange exchange, String path) throws IOException {
    String method = exchange.getRequestMethod();
    Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
    String[] seg = path.substring(1).split("/");
    synchronized (this) {
      if (seg.length == 1 && seg[0].equals("user") && method.equals("GET")) {
        send(exchange, 200, JSON.createObjectNode().put("id", 1).put("username", "heyken-bot")
            .put("name", "Heyken bot").put("state", "active"));
        return;
      }
      if (seg.length == 2 && seg[0].equals("groups") && method.equals("GET")) {
        String g = decode(seg[1]);
        var found = groups.entrySet().stream().filter(e -> e.getKey().equals(g) || String.valueOf(e.getValue())
            .equals(g)).findFirst();
        if (found.isEmpty()) {
          send(exchange, 404, json("message", "404 Group Not Found"));
        } else {
          send(exchange, 200, JSON.createObjectNode().put("id", found.get().getValue())
              .put("full_path", found.get().getKey()).put("path", found.get().getKey()));
        }
        return;
      }
      if (seg[0].equals("projects")) {
        if (seg.length == 1 && method.equals("POST")) {
          createProject(exchange, body(exchange));
          return;
        }
        if (seg.length >= 2) {
          var project = project(decode(seg[1]));
          if (project == null) {
            send(exchange, 404, json("message", "404 Project Not Found"));
            return;
          }
          projectApi(exchange, method, project, seg, query);
          return;
        }
      }
    }
    send(exchange, 404, json("error", "404 Not Found"));
  }

  private void projectApi(HttpExchange exchange, String method, Project project, String[] seg,
      Map<String, String> query) throws IOException {
    String what = seg.length > 2 ? seg[2] : "";
    if (seg.length == 2 && method.equals("GET")) {
      send(exchange, 200, projectJson(project));
    } else if (what.equals("repository") && seg.length >= 4 && seg[3].equals("branches") && method.equals("GET")) {
      if (seg.length == 4) {
        var list = JSON.createArrayNode();
        for (var ref : refs(project)) {
          list.add(branchJson(project, ref.getKey(), ref.getValue()));
        }
        send(exchange, 200, list);
      } else {
        String branch = decode(String.join("/", java.util.Arrays.copyOfRange(seg, 4, seg.length)));
        var head = headOf(project, branch);
        send(exchange, head == null ? 404 : 200, head == null ? json("message", "404 Branch Not Found")
            : branchJson(project, branch, head));
      }
    } else if (what.equals("repository") && seg.length == 6 && seg[3].equals("files") && seg[5].equals("raw")
        && method.equals("GET")) {
      var content = read(project, query.getOrDefault("ref", project.defaultBranch), decode(seg[4]));
      if (content.isEmpty()) {
        send(exchange, 404, json("message", "404 File Not Found"));
      } else {
        byte[] bytes = content.get().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
      }
    } else if (what.equals("merge_requests")) {
      mergeRequestApi(exchange, method, project, seg, query);
    } else if (what.equals("pipelines") && method.equals("GET")) {
      pipelineApi(exchange, project, seg, query);
    } else {
      send(exchange, 404, json("error", "404 Not Found"));
    }
  }

  private void mergeRequestApi(HttpExchange exchange, String method, Project project, String[] seg,
      Map<String, String> query) throws IOException {
    if (seg.length == 3 && method.equals("GET")) {
      var list = JSON.createArrayNode();
      String state = query.getOrDefault("state", "all");
      String source = query.get("source_branch");
      for (int i = project.mergeRequests.size() - 1; i >= 0; i--) { // newest first
        var mr = project.mergeRequests.get(i);
        if ((state.equals("all") || mr.get("state").asText().equals(state))
            && (source == null || mr.get("source_branch").asText().equals(source))) {
          list.add(mr);
        }
      }
      send(exchange, 200, list);
    } else if (seg.length == 3 && method.equals("POST")) {
      JsonNode body = body(exchange);
      String source = body.path("source_branch").asText("");
      String target = body.path("target_branch").asText("");
      String title = body.path("title").asText("");
      if (source.isEmpty() || target.isEmpty() || title.isEmpty()) {
        send(exchange, 400, json("error", "source_branch, target_branch, title are missing"));
        return;
      }
      if (headOf(project, source) == null || headOf(project, target) == null) {
        send(exchange, 400, JSON.createObjectNode().set("message", JSON.createArrayNode()
            .add((headOf(project, source) == null ? "Source" : "Target") + " branch does not exist")));
        return;
      }
      for (var mr : project.mergeRequests) {
        if (mr.get("source_branch").asText().equals(source) && mr.get("state").asText().equals("opened")) {
          send(exchange, 409, JSON.createObjectNode().set("message", JSON.createArrayNode().add(
              "Another open merge request already exists for this source branch: !" + mr.get("iid").asLong())));
          return;
        }
      }
      long iid = project.mergeRequests.size() + 1;
      ObjectNode mr = JSON.createObjectNode().put("id", nextId++).put("iid", iid).put("project_id", project.id)
          .put("title", title).put("description", body.path("description").asText(""))
          .put("state", "opened").put("source_branch", source).put("target_branch", target)
          .put("sha", headOf(project, source).name()).put("web_url", project.webUrl() + "/-/merge_requests/" + iid);
      mr.putNull("merged_at");
      project.mergeRequests.add(mr);
      send(exchange, 201, mr);
    } else if (seg.length >= 4) {
      ObjectNode mr = seg[3].matches("[0-9]+") ? mergeRequest(project, Long.parseLong(seg[3])) : null;
      if (mr == null) {
        send(exchange, 404, json("message", "404 Not found"));
      } else if (seg.length == 4 && method.equals("GET")) {
        send(exchange, 200, mr);
      } else if (seg.length == 5 && seg[4].equals("merge") && method.equals("PUT")) {
        if (!doMerge(project, mr)) {
          send(exchange, 405, json("message", "405 Method Not Allowed"));
        } else {
          send(exchange, 200, mr);
        }
      } else {
        send(exchange, 404, json("error", "404 Not Found"));
      }
    } else {
      send(exchange, 404, json("error", "404 Not Found"));
    }
  }

  private void pipelineApi(HttpExchange exchange, Project project, String[] seg, Map<String, String> query)
      throws IOException {
    if (seg.length == 3) {
      var list = JSON.createArrayNode();
      for (int i = project.pipelines.size() - 1; i >= 0; i--) {
        var p = project.pipelines.get(i);
        if ((!query.containsKey("ref") || p.ref.equals(query.get("ref")))
            && (!query.containsKey("sha") || p.sha.equals(query.get("sha")))) {
          list.add(pipelineJson(project, p));
        }
      }
      int perPage = Integer.parseInt(query.getOrDefault("per_page", "20"));
      while (list.size() > perPage) {
        list.remove(list.size() - 1);
      }
      send(exchange, 200, list);
      return;
    }
    Pipeline pipeline = seg[3].matches("[0-9]+") ? project.pipelines.stream()
        .filter(p -> p.id == Long.parseLong(seg[3])).findFirst().orElse(null) : null;
    if (pipeline == null) {
      send(exchange, 404, json("message", "404 Not found"));
    } else if (seg.length == 4) {
      send(exchange, 200, pipelineJson(project, pipeline));
    } else if (seg.length == 5 && seg[4].equals("jobs")) {
      var list = JSON.createArrayNode();
      pipeline.jobs.forEach(list::add);
      send(exchange, 200, list);
    } else {
      send(exchange, 404, json("error", "404 Not Found"));
    }
  }

  private void createProject(HttpExchange exchange, JsonNode body) throws IOException {
    String name = body.path("name").asText("");
    String path = body.path("path").asText(name);
    if (path.isEmpty() || !path.matches("[A-Za-z0-9][A-Za-z0-9_.-]*") || path.endsWith(".git")
        || path.endsWith(".atom")) {
      send(exchange, 400, JSON.createObjectNode().set("message", JSON.createObjectNode().set("path",
          JSON.createArrayNode().add("can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end "
              + "in '.git' or end in '.atom'"))));
      return;
    }
    String namespace = "heyken-bot";
    if (body.hasNonNull("namespace_id")) {
      long nsId = body.get("namespace_id").asLong();
      var group = groups.entrySet().stream().filter(e -> e.getValue() == nsId).findFirst();
      if (group.isEmpty()) {
        send(exchange, 404, json("message", "404 Namespace Not Found"));
        return;
      }
      namespace = group.get().getKey();
    }
    if (byPath(namespace + "/" + path) != null) {
      send(exchange, 400, JSON.createObjectNode().set("message", JSON.createObjectNode()
          .set("path", JSON.createArrayNode().add("has already been taken"))));
      return;
    }
    long id = nextId++;
    Path repoDir = dir.resolve(id + ".git");
    Repository repo = new FileRepositoryBuilder().setGitDir(repoDir.toFile()).setBare().build();
    repo.create(true);
    var project = new Project(id, name.isEmpty() ? path : name, path, namespace, body.path("description").asText(""),
        repo);
    projects.put(id, project);
    send(exchange, 201, projectJson(project));
  }

  // ---------------------------------------------------------------- git over HTTP

  private void git(HttpExchange exchange, String fullPath, String action) throws IOException {
    if (!gitAuthorized(exchange)) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"GitLab\"");
      send(exchange, 401, json("message", "HTTP Basic: Access denied"));
      return;
    }
    Project project;
    synchronized (this) {
      project = byPath(fullPath);
    }
    if (project == null) {
      send(exchange, 404, json("message", "The project you were looking for could not be found."));
      return;
    }
    String service;
    if (action.equals("info/refs")) {
      service = query(exchange.getRequestURI().getRawQuery()).getOrDefault("service", "");
      if (!service.equals("git-upload-pack") && !service.equals("git-receive-pack")) {
        send(exchange, 403, json("message", "only smart HTTP (service=git-upload-pack|git-receive-pack)"));
        return;
      }
      exchange.getResponseHeaders().set("Content-Type", "application/x-" + service + "-advertisement");
      exchange.getResponseHeaders().set("Cache-Control", "no-cache");
      exchange.sendResponseHeaders(200, 0);
      OutputStream out = exchange.getResponseBody();
      var pck = new PacketLineOut(out);
      pck.writeString("# service=" + service + "\n");
      pck.end();
      synchronized (this) {
        if (service.equals("git-receive-pack")) {
          var rp = new ReceivePack(project.repo);
          rp.setBiDirectionalPipe(false);
          rp.sendAdvertisedRefs(new RefAdvertiser.PacketLineOutRefAdvertiser(pck));
        } else {
          var up = new UploadPack(project.repo);
          up.setBiDirectionalPipe(false);
          up.sendAdvertisedRefs(new RefAdvertiser.PacketLineOutRefAdvertiser(pck));
        }
      }
      out.flush();
      return;
    }
    if (!exchange.getRequestMethod().equals("POST")) {
      send(exchange, 405, json("message", "405 Method Not Allowed"));
      return;
    }
    InputStream in = exchange.getRequestBody();
    if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
      in = new GZIPInputStream(in);
    }
    exchange.getResponseHeaders().set("Content-Type", "application/x-" + action + "-result");
    exchange.getResponseHeaders().set("Cache-Control", "no-cache");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    // one pack at a time per stand-in: pushes and API reads see consistent refs
    synchronized (this) {
      if (action.equals("git-receive-pack")) {
        var rp = new ReceivePack(project.repo);
        rp.setBiDirectionalPipe(false);
        rp.setPostReceiveHook((pack, commands) -> pushed(project, commands));
        rp.receive(in, out, null);
      } else {
        var up = new UploadPack(project.repo);
        up.setBiDirectionalPipe(false);
        up.upload(in, out, null);
      }
    }
    out.flush();
  }

  private boolean gitAuthorized(HttpExchange exchange) {
    String authorization = exchange.getRequestHeaders().getFirst("Authorization");
    if (authorization == null || !authorization.startsWith("Basic ")) {
      return false;
    }
    String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).strip()),
        StandardCharsets.UTF_8);
    int colon = decoded.indexOf(':');
    return colon >= 0 && tokens.contains(decoded.substring(colon + 1));
  }

  /** After a push: the first branch becomes the default, a commit with a .gitlab-ci.yml gets a pipeline. */
  private void pushed(Project project, Collection<ReceiveCommand> commands) {
    for (var command : commands) {
      if (command.getResult() != ReceiveCommand.Result.OK || command.getType() == ReceiveCommand.Type.DELETE
          || !command.getRefName().startsWith(Constants.R_HEADS)) {
        continue;
      }
      String branch = command.getRefName().substring(Constants.R_HEADS.length());
      if (project.defaultBranch == null) {
        project.defaultBranch = branch;
        try {
          RefUpdate head = project.repo.updateRef(Constants.HEAD);
          head.link(command.getRefName());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
      String sha = command.getNewId().name();
      read(project, sha, ".gitlab-ci.yml").ifPresent(ci -> {
        var pipeline = new Pipeline(nextId++, branch, sha);
        for (String line : ci.split("\n")) {
          var key = Pattern.compile("^([A-Za-z0-9_][A-Za-z0-9_ .-]*):\\s*(#.*)?$").matcher(line);
          if (key.matches() && !CI_KEYWORDS.contains(key.group(1)) && !key.group(1).startsWith(".")) {
            pipeline.jobs.add(JSON.createObjectNode().put("id", nextId++).put("name", key.group(1))
                .put("stage", "test").put("status", "pending").put("ref", branch)
                .put("web_url", project.webUrl() + "/-/jobs/" + nextId));
          }
        }
        project.pipelines.add(pipeline);
      });
    }
  }

  // ---------------------------------------------------------------- model

  private Project project(String idOrPath) {
    if (idOrPath.matches("[0-9]+")) {
      return projects.get(Long.parseLong(idOrPath));
    }
    return byPath(idOrPath);
  }

  private Project byPath(String fullPath) {
    return projects.values().stream().filter(p -> p.fullPath().equals(fullPath)).findFirst().orElse(null);
  }

  private ObjectNode mergeRequest(Project project, long iid) {
    return project.mergeRequests.stream().filter(m -> m.get("iid").asLong() == iid).findFirst().orElse(null);
  }

  private boolean doMerge(Project project, ObjectNode mr) {
    if (!mr.get("state").asText().equals("opened")) {
      return false;
    }
    try (var walk = new RevWalk(project.repo)) {
      ObjectId source = headOf(project, mr.get("source_branch").asText());
      ObjectId target = headOf(project, mr.get("target_branch").asText());
      RevCommit sourceCommit = walk.parseCommit(source);
      ObjectId merged = source;
      if (target != null && !walk.isMergedInto(walk.parseCommit(target), sourceCommit)) {
        try (ObjectInserter inserter = project.repo.newObjectInserter()) {
          var commit = new CommitBuilder();
          commit.setTreeId(sourceCommit.getTree());
          commit.setParentIds(target, source);
          var who = new PersonIdent("GitLab stand-in", "gitlab@stand-in.invalid");
          commit.setAuthor(who);
          commit.setCommitter(who);
          commit.setMessage("Merge branch '" + mr.get("source_branch").asText() + "' into '"
              + mr.get("target_branch").asText() + "'");
          merged = inserter.insert(commit);
          inserter.flush();
        }
      }
      RefUpdate update = project.repo.updateRef(Constants.R_HEADS + mr.get("target_branch").asText());
      update.setNewObjectId(merged);
      update.setForceUpdate(true);
      update.update();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    mr.put("state", "merged");
    mr.put("merged_at", java.time.Instant.now().toString());
    return true;
  }

  private ObjectId headOf(Project project, String branch) {
    try {
      var ref = project.repo.exactRef(Constants.R_HEADS + branch);
      return ref == null ? null : ref.getObjectId();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private List<Map.Entry<String, ObjectId>> refs(Project project) {
    try {
      return project.repo.getRefDatabase().getRefsByPrefix(Constants.R_HEADS).stream()
          .map(r -> Map.entry(r.getName().substring(Constants.R_HEADS.length()), r.getObjectId())).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Optional<String> read(Project project, String revOrBranch, String file) {
    try {
      ObjectId id = project.repo.resolve(revOrBranch + "^{commit}");
      if (id == null) {
        return Optional.empty();
      }
      try (var walk = new RevWalk(project.repo)) {
        var tree = walk.parseCommit(id).getTree();
        try (var tw = TreeWalk.forPath(project.repo, file, tree)) {
          if (tw == null) {
            return Optional.empty();
          }
          return Optional.of(new String(project.repo.open(tw.getObjectId(0)).getBytes(), StandardCharsets.UTF_8));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ObjectNode projectJson(Project p) {
    ObjectNode node = JSON.createObjectNode().put("id", p.id).put("name", p.name).put("path", p.path)
        .put("path_with_namespace", p.fullPath()).put("description", p.description).put("visibility", "private")
        .put("web_url", p.webUrl()).put("http_url_to_repo", p.webUrl() + ".git");
    node.putObject("namespace").put("full_path", p.namespace).put("path", p.namespace);
    if (p.defaultBranch == null) {
      node.putNull("default_branch");
    } else {
      node.put("default_branch", p.defaultBranch);
    }
    return node;
  }

  private ObjectNode branchJson(Project p, String name, ObjectId head) {
    ObjectNode node = JSON.createObjectNode().put("name", name).put("default", name.equals(p.defaultBranch))
        .put("web_url", p.webUrl() + "/-/tree/" + name);
    node.putObject("commit").put("id", head.name()).put("short_id", head.name().substring(0, 8));
    return node;
  }

  private ObjectNode pipelineJson(Project project, Pipeline p) {
    return JSON.createObjectNode().put("id", p.id).put("project_id", project.id).put("status", p.status)
        .put("ref", p.ref).put("sha", p.sha).put("source", "push")
        .put("web_url", project.webUrl() + "/-/pipelines/" + p.id);
  }

  // ---------------------------------------------------------------- HTTP helpers

  private static JsonNode body(HttpExchange exchange) throws IOException {
    byte[] bytes = exchange.getRequestBody().readAllBytes();
    String type = String.valueOf(exchange.getRequestHeaders().getFirst("Content-Type"));
    if (bytes.length == 0) {
      return JSON.createObjectNode();
    }
    if (type.startsWith("application/x-www-form-urlencoded")) {
      ObjectNode node = JSON.createObjectNode();
      query(new String(bytes, StandardCharsets.UTF_8)).forEach(node::put);
      return node;
    }
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  private static Map<String, String> query(String raw) {
    var map = new LinkedHashMap<String, String>();
    if (raw == null || raw.isEmpty()) {
      return map;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      map.put(decode(eq < 0 ? pair : pair.substring(0, eq)), eq < 0 ? "" : decode(pair.substring(eq + 1)));
    }
    return map;
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static ObjectNode json(String field, String value) {
    return JSON.createObjectNode().put(field, value);
  }

  private static void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

}
