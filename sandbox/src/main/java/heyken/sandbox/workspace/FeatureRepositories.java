package heyken.sandbox.workspace;

import com.typesafe.config.Config;
import heyken.sandbox.SandboxSettings;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.MessageFormat;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.InvalidRemoteException;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.errors.LargeObjectException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.internal.JGitText;
import org.eclipse.jgit.lib.AbbreviatedObjectId;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.ProgressMonitor;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.SubmoduleConfig.FetchRecurseSubmodulesMode;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.TreeFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The code of every feature: one bare git repository per feature at {@code <gitRoot>/<featureId>.git}, branch
 * {@value #BRANCH}; every change is a commit and a revision is a commit id.
 *
 * <p>Every method blocks (JGit, disk): call them from a blocking dispatcher. Writes to one feature are serialized in
 * this JVM; across the two cores the feature entity is the single writer. A repository appears at once and complete
 * (it is built under a temporary name and renamed), so a crash never leaves a half-created feature behind.
 *
 * <p>Files arrive as text ({@code path → content}); a new file whose content starts with {@code #!} is committed
 * executable, because a files map has no other way to say so, and a rewritten file keeps its mode. Imported
 * repositories keep their modes.
 */
public final class FeatureRepositories {

  /** The branch that holds a feature's revisions. */
  public static final String BRANCH = "main";
  /** The file every skeleton has besides {@link FeatureManifest#FILE}. */
  public static final String README = "README.md";

  private static final Logger log = LoggerFactory.getLogger(FeatureRepositories.class);
  private static final String MAIN = Constants.R_HEADS + BRANCH;
  private static final String COMMITTER = "Heyken";
  private static final String TEMPORARY_PREFIX = ".tmp-";
  private static final String TRASH_PREFIX = ".trash-";
  /** Older temporaries are left-overs of a crash; younger ones may belong to the other core on this machine. */
  private static final Duration STALE = Duration.ofHours(1);
  private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]{7,40}");
  private static final Pattern SCP_LIKE = Pattern.compile("^[^/:]+@[^/:]+:.*|^[A-Za-z0-9.-]{2,}:[^/].*");
  private static final Pattern USER_INFO = Pattern.compile("(?<=://)[^/@]*@");
  /** JGit's own (localized) message for a remote without HEAD: an empty repository, not a broken transfer. */
  private static final String EMPTY_REMOTE =
      MessageFormat.format(JGitText.get().remoteDoesNotHaveSpec, Constants.HEAD);
  private static final int MAX_AUTHOR = 100;
  private static final int MAX_MESSAGE = 10_000;

  private final Path gitRoot;
  private final Limits limits;
  /** One small lock per feature ever written in this JVM: features are few, so the map is never pruned. */
  private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

  /**
   * The limits on a feature's code.
   *
   * @param maxFileBytes the largest file
   * @param maxRevisionBytes the most bytes all files of one revision may hold together
   * @param maxFiles the most files of one revision
   * @param importTimeout how long an import from a git URL may take in all
   * @param maxImportBytes the most an import may store (the fetched history, not only the newest tree)
   */
  public record Limits(long maxFileBytes, long maxRevisionBytes, int maxFiles, Duration importTimeout,
      long maxImportBytes) {

    public static final Duration DEFAULT_IMPORT_TIMEOUT = Duration.ofMinutes(2);
    public static final long DEFAULT_MAX_IMPORT_BYTES = 64L << 20;

    public Limits {
      if (maxFileBytes < 1 || maxRevisionBytes < maxFileBytes || maxFiles < 1) {
        throw new IllegalArgumentException("repository limits: max-file-bytes and max-files must be positive and "
            + "max-revision-bytes at least max-file-bytes");
      }
      if (importTimeout.isZero() || importTimeout.isNegative() || maxImportBytes < 1) {
        throw new IllegalArgumentException("repository limits: the import timeout and size must be positive");
      }
    }

    public Limits(long maxFileBytes, long maxRevisionBytes, int maxFiles) {
      this(maxFileBytes, maxRevisionBytes, maxFiles, DEFAULT_IMPORT_TIMEOUT, DEFAULT_MAX_IMPORT_BYTES);
    }

    /**
     * {@code heyken.sandbox.max-file-bytes}, {@code max-revision-bytes}, {@code max-files}, and when present
     * {@code import-timeout} and {@code max-import-bytes} (defaults: 2 minutes, 64 MiB).
     */
    public static Limits from(Config config) {
      Config c = config.getConfig("heyken.sandbox");
      return new Limits(c.getBytes("max-file-bytes"), c.getBytes("max-revision-bytes"), c.getInt("max-files"),
          c.hasPath("import-timeout") ? c.getDuration("import-timeout") : DEFAULT_IMPORT_TIMEOUT,
          c.hasPath("max-import-bytes") ? c.getBytes("max-import-bytes") : DEFAULT_MAX_IMPORT_BYTES);
    }
  }

  /**
   * One commit of a feature.
   *
   * @param id the full commit id (40 hex characters)
   * @param message the commit message
   * @param author who made the change (a user name, {@code llm}, or the author of an imported commit)
   * @param at when the change was authored
   * @param files the paths this commit added, changed or deleted (all files for the first commit), sorted
   */
  public record Revision(String id, String message, String author, Instant at, List<String> files) {
    public Revision {
      files = List.copyOf(files);
    }

    /** The first 8 characters of the id, for messages. */
    public String shortId() {
      return id.substring(0, 8);
    }
  }

  public FeatureRepositories(Path gitRoot, Limits limits) {
    this.gitRoot = gitRoot.toAbsolutePath().normalize();
    this.limits = limits;
    try {
      Files.createDirectories(this.gitRoot);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the git directory " + this.gitRoot + ": " + e.getMessage(), e);
    }
    removeStaleTemporaries();
  }

  public FeatureRepositories(Path gitRoot, SandboxSettings.RepositoryLimits limits) {
    this(gitRoot, new Limits(limits.maxFileBytes(), limits.maxRevisionBytes(), limits.maxFiles()));
  }

  public Limits limits() {
    return limits;
  }

  // ------------------------------------------------------------------------------------------------ writing

  /** The files of a draft: a commented {@link FeatureManifest#FILE} and a README. */
  public static Map<String, String> skeleton(String name, String description) {
    String desc = description == null ? "" : description.strip();
    var files = new LinkedHashMap<String, String>();
    files.put(FeatureManifest.FILE, FeatureManifest.skeleton(name, desc));
    files.put(README, "# " + name.strip() + "\n\n" + (desc.isEmpty() ? "" : desc + "\n\n")
        + "This feature is a draft. Add its code, set `run` (and `command`) in " + FeatureManifest.FILE
        + ", and a .gitlab-ci.yml whose jobs test it.\n");
    return files;
  }

  /** Creates the repository of a draft: {@link #skeleton} as the first commit. */
  public Revision createSkeleton(String featureId, String name, String description, String author) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a skeleton needs the feature's name");
    }
    return create(featureId, skeleton(name, description), "Create draft " + name.strip(), author);
  }

  /**
   * Creates the repository of a feature with {@code files} as its first commit.
   *
   * @throws FeatureExistsException when the feature already has a repository
   * @throws InvalidFilesException when a path or size is refused (all problems at once), or no file is given
   */
  public Revision create(String featureId, Map<String, String> files, String message, String author) {
    PathGuard.checkFeatureId(featureId);
    String who = author(author);
    if (files == null || files.isEmpty()) {
      throw InvalidFilesException.of(null, "no files given: send at least one file, or create a draft "
          + "(name and description only)");
    }
    var problems = new ArrayList<InvalidFilesException.Problem>();
    files.forEach((path, content) -> {
      PathGuard.problem(path).ifPresent(reason -> problems.add(new InvalidFilesException.Problem(path, reason)));
      if (content == null) {
        problems.add(new InvalidFilesException.Problem(path, "has no content (null): a new feature's files need "
            + "their content as text"));
      }
    });
    throwIfAny(problems);
    return locked(featureId, () -> {
      Path target = repositoryDir(featureId);
      if (Files.exists(target)) {
        throw new FeatureExistsException(featureId);
      }
      Path tmp = temporary(featureId);
      try {
        Revision revision;
        try (Repository repo = initBare(tmp)) {
          revision = writeChanges(repo, null, files, message(message, "Create feature"), who);
        }
        publish(tmp, target, featureId);
        log.info("feature {}: repository created at {} by {} ({} files)", featureId, revision.shortId(), who,
            revision.files().size());
        return revision;
      } finally {
        deleteQuietly(tmp);
      }
    });
  }

  /**
   * Writes whole files on top of {@value #BRANCH}: each value replaces the file, a null value deletes it (deleting a
   * file that is not there is no error, so that a repeated request does the same). A change that leaves every file as
   * it was makes no commit and returns the current revision.
   *
   * @throws UnknownFeatureException when the feature has no repository
   * @throws InvalidFilesException when a path or size is refused (all problems at once)
   */
  public Revision commit(String featureId, Map<String, String> files, String message, String author) {
    PathGuard.checkFeatureId(featureId);
    String who = author(author);
    if (files == null || files.isEmpty()) {
      throw InvalidFilesException.of(null, "no files given: a change needs at least one file to write, or to "
          + "delete (with null as its content)");
    }
    var problems = new ArrayList<InvalidFilesException.Problem>();
    files.keySet().forEach(path -> PathGuard.problem(path)
        .ifPresent(reason -> problems.add(new InvalidFilesException.Problem(path, reason))));
    throwIfAny(problems);
    return locked(featureId, () -> {
      try (Repository repo = open(featureId)) {
        Ref main = repo.exactRef(MAIN);
        ObjectId parent = main == null ? null : main.getObjectId();
        Revision revision = writeChanges(repo, parent, files, message(message, defaultMessage(files)), who);
        if (parent != null && revision.id().equals(parent.name())) {
          log.info("feature {}: change by {} leaves every file as it was: no commit", featureId, who);
        } else {
          log.info("feature {}: committed {} by {} ({} files changed)", featureId, revision.shortId(), who,
              revision.files().size());
        }
        return revision;
      }
    });
  }

  /**
   * Creates a feature's repository from the default branch of the repository at {@code gitUrl}: only
   * {@code http://}, {@code https://} and {@code file://} URLs are accepted. The history of that branch is kept (its
   * commits become the feature's first revisions); its newest tree must satisfy the limits and may hold neither
   * symbolic links nor submodules.
   *
   * @param author who asked for the import (the commits keep their own authors)
   * @throws GitImportException for a refused URL or a failed transfer
   * @throws InvalidFilesException when the imported tree breaks a rule
   * @throws FeatureExistsException when the feature already has a repository
   */
  public Revision importFrom(String featureId, String gitUrl, String author) {
    PathGuard.checkFeatureId(featureId);
    String who = author(author);
    String url = checkImportUrl(gitUrl);
    String shown = redact(url);
    return locked(featureId, () -> {
      Path target = repositoryDir(featureId);
      if (Files.exists(target)) {
        throw new FeatureExistsException(featureId);
      }
      Path tmp = temporary(featureId);
      try {
        Revision revision;
        try (Repository repo = initBare(tmp); Git git = new Git(repo)) {
          try {
            fetchDefaultBranch(git, tmp, url, shown, who);
            Ref main = repo.exactRef(MAIN);
            if (main == null || main.getObjectId() == null) {
              throw new GitImportException("the repository at " + shown + " has no default branch (is it empty?): "
                  + "push a commit to it, then import again");
            }
          } catch (GitImportException e) {
            throw overNetwork(url) ? network(featureId, shown, e) : e;
          }
          Ref main = repo.exactRef(MAIN);
          try (RevWalk walk = new RevWalk(repo)) {
            RevCommit head = walk.parseCommit(main.getObjectId());
            checkImportedTree(repo, head);
            revision = revision(repo, walk, head);
          }
        }
        publish(tmp, target, featureId);
        log.info("feature {}: imported {} at {} for {}", featureId, shown, revision.shortId(), who);
        return revision;
      } finally {
        deleteQuietly(tmp);
      }
    });
  }

  /** Deletes the feature's repository; nothing happens when it has none. */
  public void delete(String featureId) {
    PathGuard.checkFeatureId(featureId);
    locked(featureId, () -> {
      Path dir = repositoryDir(featureId);
      if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
        return null;
      }
      // renamed first, so that the feature is gone at once even if deleting its files takes a while or fails
      Path trash = gitRoot.resolve(TRASH_PREFIX + featureId + "-" + UUID.randomUUID());
      Files.move(dir, trash, StandardCopyOption.ATOMIC_MOVE);
      deleteQuietly(trash);
      log.info("feature {}: repository deleted", featureId);
      return null;
    });
  }

  // ------------------------------------------------------------------------------------------------ reading

  public boolean exists(String featureId) {
    return Files.isDirectory(repositoryDir(PathGuard.checkFeatureId(featureId)));
  }

  /**
   * Writes the files of {@code revision} into {@code dir} (created when missing, else it must be empty): plain files
   * with their executable bit (0755, else 0644), no {@code .git}.
   */
  public void checkout(String featureId, String revision, Path dir) {
    PathGuard.checkFeatureId(featureId);
    io(() -> {
      try (Repository repo = open(featureId); RevWalk walk = new RevWalk(repo); ObjectReader reader =
          repo.newObjectReader()) {
        RevCommit commit = resolveCommit(repo, walk, featureId, revision);
        Path root = emptyDirectory(dir);
        try (TreeWalk tw = new TreeWalk(reader)) {
          tw.addTree(commit.getTree());
          tw.setRecursive(true);
          while (tw.next()) {
            String path = tw.getPathString();
            FileMode mode = tw.getFileMode(0);
            refuseSpecial(path, mode, "revision " + commit.name().substring(0, 8));
            PathGuard.check(path);
            Path file = root.resolve(path).normalize();
            if (!file.startsWith(root)) {
              throw InvalidFilesException.of(path, "would be written outside the checkout");
            }
            Files.createDirectories(file.getParent());
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
              reader.open(tw.getObjectId(0), Constants.OBJ_BLOB).copyTo(out);
            }
            setMode(file, FileMode.EXECUTABLE_FILE.equals(mode) ? "rwxr-xr-x" : "rw-r--r--");
          }
        }
        return null;
      }
    });
  }

  /**
   * The text (UTF-8) of a file at a revision; empty when the revision has no such file.
   *
   * @throws InvalidFilesException for a malformed path, or a file larger than max-file-bytes
   * @throws UnknownRevisionException when the revision is unknown
   */
  public Optional<String> readFile(String featureId, String revision, String path) {
    PathGuard.checkFeatureId(featureId);
    PathGuard.check(path);
    return io(() -> {
      try (Repository repo = open(featureId); RevWalk walk = new RevWalk(repo)) {
        RevCommit commit = resolveCommit(repo, walk, featureId, revision);
        try (TreeWalk tw = TreeWalk.forPath(repo, path, commit.getTree())) {
          if (tw == null || (tw.getRawMode(0) & FileMode.TYPE_MASK) != FileMode.TYPE_FILE) {
            return Optional.empty();
          }
          ObjectLoader loader = repo.open(tw.getObjectId(0), Constants.OBJ_BLOB);
          try {
            return Optional.of(new String(loader.getCachedBytes((int) Math.min(limits.maxFileBytes(),
                Integer.MAX_VALUE - 8)), StandardCharsets.UTF_8));
          } catch (LargeObjectException e) {
            throw InvalidFilesException.of(path, "is " + ByteSize.format(loader.getSize()) + ", larger than the "
                + ByteSize.format(limits.maxFileBytes()) + " a file may have: it is not read");
          }
        }
      }
    });
  }

  /**
   * What {@code revision} changed, as a unified diff (git's format, 3 lines of context) against its first parent, or
   * against nothing for the first revision; cut at {@code maxBytes} with a last line that says so.
   *
   * @throws UnknownRevisionException when the revision is unknown
   */
  public String diff(String featureId, String revision, int maxBytes) {
    PathGuard.checkFeatureId(featureId);
    return io(() -> {
      try (Repository repo = open(featureId); RevWalk walk = new RevWalk(repo);
          ObjectReader reader = repo.newObjectReader()) {
        RevCommit commit = resolveCommit(repo, walk, featureId, revision);
        var out = new java.io.ByteArrayOutputStream();
        var capped = new OutputStream() {
          boolean cut;

          @Override
          public void write(int b) {
            if (out.size() < maxBytes) {
              out.write(b);
            } else {
              cut = true;
            }
          }

          @Override
          public void write(byte[] b, int off, int len) {
            int room = Math.max(0, maxBytes - out.size());
            out.write(b, off, Math.min(room, len));
            cut |= len > room;
          }
        };
        try (var formatter = new org.eclipse.jgit.diff.DiffFormatter(capped)) {
          formatter.setRepository(repo);
          formatter.setDetectRenames(true);
          var newTree = new org.eclipse.jgit.treewalk.CanonicalTreeParser(null, reader, commit.getTree());
          org.eclipse.jgit.treewalk.AbstractTreeIterator oldTree = commit.getParentCount() == 0
              ? new EmptyTreeIterator()
              : new org.eclipse.jgit.treewalk.CanonicalTreeParser(null, reader,
                  walk.parseCommit(commit.getParent(0)).getTree());
          formatter.format(oldTree, newTree);
          formatter.flush();
        }
        String text = out.toString(StandardCharsets.UTF_8);
        return capped.cut ? text + "\n… the diff is longer than " + ByteSize.format(maxBytes) + ": cut here\n"
            : text;
      }
    });
  }

  /** Every revision of the feature, newest first. */
  public List<Revision> log(String featureId) {
    return log(featureId, Integer.MAX_VALUE);
  }

  /** The newest {@code max} revisions of the feature, newest first. */
  public List<Revision> log(String featureId, int max) {
    PathGuard.checkFeatureId(featureId);
    return io(() -> {
      try (Repository repo = open(featureId); RevWalk walk = new RevWalk(repo)) {
        Ref main = repo.exactRef(MAIN);
        if (main == null || main.getObjectId() == null) {
          return List.of();
        }
        walk.markStart(walk.parseCommit(main.getObjectId()));
        var revisions = new ArrayList<Revision>();
        for (RevCommit c : walk) {
          if (revisions.size() >= max) {
            break;
          }
          revisions.add(revision(repo, walk, c));
        }
        return revisions;
      }
    });
  }

  /** The newest revision of the feature. */
  public Revision head(String featureId) {
    return resolve(featureId, BRANCH);
  }

  /**
   * The revision a full commit id or a unique prefix of at least 7 hex characters names ({@value #BRANCH} or
   * {@code HEAD}: the newest).
   *
   * @throws UnknownRevisionException when it names no commit of the feature, or several
   */
  public Revision resolve(String featureId, String revisionOrPrefix) {
    PathGuard.checkFeatureId(featureId);
    return io(() -> {
      try (Repository repo = open(featureId); RevWalk walk = new RevWalk(repo)) {
        return revision(repo, walk, resolveCommit(repo, walk, featureId, revisionOrPrefix));
      }
    });
  }

  // ------------------------------------------------------------------------------------------------ internals

  /** Builds the tree of {@code parent} with {@code changes} applied, checks it, and commits it unless unchanged. */
  private Revision writeChanges(Repository repo, ObjectId parent, Map<String, String> changes, String message,
      String author) throws IOException {
    try (RevWalk walk = new RevWalk(repo); ObjectInserter inserter = repo.newObjectInserter()) {
      RevCommit parentCommit = parent == null ? null : walk.parseCommit(parent);
      TreeMap<String, Blob> tree = parentCommit == null ? new TreeMap<>() : readTree(repo, parentCommit);
      var problems = new ArrayList<InvalidFilesException.Problem>();
      var contents = new LinkedHashMap<String, byte[]>();
      for (var change : new TreeMap<>(changes).entrySet()) {
        String path = change.getKey();
        if (change.getValue() == null) {
          if (tree.remove(path) == null && isDirectory(tree, path)) {
            problems.add(new InvalidFilesException.Problem(path, "is a directory: delete the files in it one by one"));
          }
          continue;
        }
        byte[] bytes = change.getValue().getBytes(StandardCharsets.UTF_8);
        if (bytes.length > limits.maxFileBytes()) {
          problems.add(new InvalidFilesException.Problem(path, "is " + ByteSize.format(bytes.length)
              + "; a file may have at most " + ByteSize.format(limits.maxFileBytes())
              + " (heyken.sandbox.max-file-bytes): split it or keep large data out of the feature"));
          continue;
        }
        Blob previous = tree.get(path);
        boolean executable = previous != null && FileMode.EXECUTABLE_FILE.equals(previous.mode())
            || change.getValue().startsWith("#!");
        contents.put(path, bytes);
        tree.put(path, new Blob(null, executable ? FileMode.EXECUTABLE_FILE : FileMode.REGULAR_FILE, bytes.length));
      }
      checkTree(tree, problems, changes.keySet());
      throwIfAny(problems);

      DirCache index = DirCache.newInCore();
      DirCacheBuilder builder = index.builder();
      for (var e : tree.entrySet()) {
        ObjectId id = e.getValue().id() != null ? e.getValue().id()
            : inserter.insert(Constants.OBJ_BLOB, contents.get(e.getKey()));
        DirCacheEntry entry = new DirCacheEntry(e.getKey());
        entry.setFileMode(e.getValue().mode());
        entry.setObjectId(id);
        builder.add(entry);
      }
      builder.finish();
      ObjectId treeId = index.writeTree(inserter);
      if (parentCommit != null && treeId.equals(parentCommit.getTree())) {
        return revision(repo, walk, parentCommit);
      }
      PersonIdent authorIdent = new PersonIdent(author, "", Instant.now(), ZoneOffset.UTC);
      var commit = new CommitBuilder();
      commit.setTreeId(treeId);
      if (parentCommit != null) {
        commit.setParentId(parentCommit);
      }
      commit.setAuthor(authorIdent);
      commit.setCommitter(new PersonIdent(COMMITTER, "", authorIdent.getWhenAsInstant(), ZoneOffset.UTC));
      commit.setMessage(message);
      ObjectId commitId = inserter.insert(commit);
      inserter.flush();

      RefUpdate update = repo.updateRef(MAIN);
      update.setNewObjectId(commitId);
      update.setExpectedOldObjectId(parent == null ? ObjectId.zeroId() : parent);
      update.setRefLogMessage("commit: " + firstLine(message), false);
      RefUpdate.Result result = update.update(walk);
      if (result != RefUpdate.Result.NEW && result != RefUpdate.Result.FAST_FORWARD) {
        throw new IOException("could not move " + MAIN + " to the new commit: " + result
            + " (another writer at the same time?)");
      }
      return revision(repo, walk, walk.parseCommit(commitId));
    } catch (org.eclipse.jgit.dircache.InvalidPathException e) {
      // our guard is stricter than JGit's; should JGit still refuse a name, it is the caller's file
      throw InvalidFilesException.of(null, "a path was refused by git: " + e.getMessage());
    }
  }

  /** A file of a tree as it is stored: id (null while not yet inserted), mode, size. */
  private record Blob(ObjectId id, FileMode mode, long size) {}

  private TreeMap<String, Blob> readTree(Repository repo, RevCommit commit) throws IOException {
    var tree = new TreeMap<String, Blob>();
    try (ObjectReader reader = repo.newObjectReader(); TreeWalk tw = new TreeWalk(reader)) {
      tw.addTree(commit.getTree());
      tw.setRecursive(true);
      while (tw.next()) {
        FileMode mode = tw.getFileMode(0);
        long size = (mode.getBits() & FileMode.TYPE_MASK) == FileMode.TYPE_FILE
            ? reader.getObjectSize(tw.getObjectId(0), Constants.OBJ_BLOB) : 0;
        tree.put(tw.getPathString(), new Blob(tw.getObjectId(0), mode, size));
      }
    }
    return tree;
  }

  private static boolean isDirectory(TreeMap<String, Blob> tree, String path) {
    String prefix = path + "/";
    String next = tree.ceilingKey(prefix);
    return next != null && next.startsWith(prefix);
  }

  /**
   * The rules on a whole tree: a path cannot be a file and a directory at once, at most max-files files and
   * max-revision-bytes bytes. {@code touched} are the paths of this change: conflicts are reported on them.
   */
  private void checkTree(TreeMap<String, Blob> tree, List<InvalidFilesException.Problem> problems,
      Collection<String> touched) {
    for (String path : touched) {
      if (!tree.containsKey(path)) {
        continue;
      }
      for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
        String parent = path.substring(0, slash);
        if (tree.containsKey(parent)) {
          problems.add(new InvalidFilesException.Problem(path, "needs '" + parent + "' to be a directory, but it is a "
              + "file: delete '" + parent + "' in the same change (null content) or choose another path"));
        }
      }
      if (isDirectory(tree, path)) {
        problems.add(new InvalidFilesException.Problem(path, "is a directory of this revision and cannot also be a "
            + "file: choose another path"));
      }
    }
    if (tree.size() > limits.maxFiles()) {
      String firstOver = tree.keySet().stream().skip(limits.maxFiles()).findFirst().orElse("");
      problems.add(new InvalidFilesException.Problem(null, "the revision would hold " + tree.size() + " files; at "
          + "most " + limits.maxFiles() + " are allowed (heyken.sandbox.max-files), the first one over the limit is '"
          + PathGuard.display(firstOver) + "': remove files or merge them"));
    }
    long total = tree.values().stream().mapToLong(Blob::size).sum();
    if (total > limits.maxRevisionBytes()) {
      String largest = tree.entrySet().stream()
          .sorted((a, b) -> Long.compare(b.getValue().size(), a.getValue().size())).limit(3)
          .map(e -> "'" + PathGuard.display(e.getKey()) + "' " + ByteSize.format(e.getValue().size()))
          .reduce((a, b) -> a + ", " + b).orElse("");
      problems.add(new InvalidFilesException.Problem(null, "the revision would hold " + ByteSize.format(total)
          + "; at most " + ByteSize.format(limits.maxRevisionBytes()) + " are allowed (heyken.sandbox"
          + ".max-revision-bytes): remove or shrink files (largest: " + largest + ")"));
    }
  }

  /** The rules on the newest tree of an imported repository: the same as for files sent over the API, and more. */
  private void checkImportedTree(Repository repo, RevCommit head) throws IOException {
    var problems = new ArrayList<InvalidFilesException.Problem>();
    var tree = new TreeMap<String, Blob>();
    try (ObjectReader reader = repo.newObjectReader(); TreeWalk tw = new TreeWalk(reader)) {
      tw.addTree(head.getTree());
      tw.setRecursive(true);
      while (tw.next()) {
        String path = tw.getPathString();
        FileMode mode = tw.getFileMode(0);
        if (FileMode.SYMLINK.equals(mode)) {
          problems.add(new InvalidFilesException.Problem(path, "is a symbolic link: Heyken takes plain files only; "
              + "replace the link by the file it points to"));
          continue;
        }
        if (FileMode.GITLINK.equals(mode)) {
          problems.add(new InvalidFilesException.Problem(path, "is a submodule: Heyken takes plain files only; "
              + "copy the submodule's files into the repository"));
          continue;
        }
        PathGuard.problem(path).ifPresent(r -> problems.add(new InvalidFilesException.Problem(path, r)));
        long size = reader.getObjectSize(tw.getObjectId(0), Constants.OBJ_BLOB);
        if (size > limits.maxFileBytes()) {
          problems.add(new InvalidFilesException.Problem(path, "is " + ByteSize.format(size) + "; a file may have at "
              + "most " + ByteSize.format(limits.maxFileBytes()) + " (heyken.sandbox.max-file-bytes)"));
        }
        tree.put(path, new Blob(tw.getObjectId(0), mode, size));
      }
    }
    checkTree(tree, problems, List.of());
    if (!problems.isEmpty()) {
      throw new InvalidFilesException(problems.stream()
          .map(p -> new InvalidFilesException.Problem(p.path(), p.reason() + " (in the imported repository)"))
          .toList());
    }
  }

  /**
   * The one answer to a failed http(s) import, whatever went wrong (connection refused, timeout, not a git
   * repository, empty, too large): distinct answers would let whoever may import probe which ports and hosts the core
   * reaches (a port scanner of its loopback). The cause is in the core's log.
   */
  static String networkImportFailed(String shown) {
    return "nothing could be imported from " + shown + " (no git repository answered there, or it could not be "
        + "read): check the URL and that the repository can be read without a password (or put a token into the "
        + "URL); the core's log says why";
  }

  private static boolean overNetwork(String url) {
    return url.regionMatches(true, 0, "http://", 0, 7) || url.regionMatches(true, 0, "https://", 0, 8);
  }

  private static GitImportException network(String featureId, String shown, GitImportException cause) {
    log.warn("feature {}: the import from {} failed: {}. Check the URL and that the repository answers there without "
        + "a password", featureId, shown, cause.getMessage());
    return new GitImportException(networkImportFailed(shown));
  }

  private void fetchDefaultBranch(Git git, Path into, String url, String shown, String who) throws IOException {
    var watch = new ImportWatch(Instant.now().plus(limits.importTimeout()), into, limits.maxImportBytes());
    try {
      // HEAD of the remote is its default branch, whatever it is called; it becomes our main
      git.fetch()
          .setRemote(url)
          .setRefSpecs(new RefSpec("+" + Constants.HEAD + ":" + MAIN))
          .setTagOpt(TagOpt.NO_TAGS)
          .setRecurseSubmodules(FetchRecurseSubmodulesMode.NO)
          .setTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, limits.importTimeout().toSeconds())))
          .setProgressMonitor(watch)
          .call();
    } catch (InvalidRemoteException e) {
      throw new GitImportException("no git repository at " + shown + ": check the URL (for file:// an absolute path "
          + "to a repository, for http(s):// the clone URL)", e);
    } catch (GitAPIException | RuntimeException e) {
      if (EMPTY_REMOTE.equals(e.getMessage())) {
        throw new GitImportException("the repository at " + shown + " has no default branch (is it empty?): push a "
            + "commit to it, then import again", e);
      }
      Optional<String> stopped = watch.stopReason();
      if (stopped.isPresent()) {
        throw new GitImportException("the import of " + shown + " was stopped: " + stopped.get(), e);
      }
      // JGit's messages start with the URL again
      String why = redact(rootMessage(e)).replace(shown + ": ", "");
      throw new GitImportException("could not fetch " + shown + ": " + why + ". Check that the URL "
          + "is right and the repository can be read without a password (or put a token into the URL)", e);
    }
    if (watch.stopReason().isPresent()) {
      throw new GitImportException("the import of " + shown + " was stopped: " + watch.stopReason().get());
    }
    log.debug("fetched {} for {}", shown, who);
  }

  /**
   * Stops an import that runs past its deadline or stores more than it may: JGit asks its progress monitor whether to
   * go on between objects, which is the one hook a fetch offers for both.
   */
  private static final class ImportWatch implements ProgressMonitor {
    private static final long CHECK_EVERY_NANOS = 250_000_000L;
    private final Instant deadline;
    private final Path dir;
    private final long maxBytes;
    private final AtomicReference<String> stopped = new AtomicReference<>();
    private long lastCheck;

    ImportWatch(Instant deadline, Path dir, long maxBytes) {
      this.deadline = deadline;
      this.dir = dir;
      this.maxBytes = maxBytes;
    }

    Optional<String> stopReason() {
      return Optional.ofNullable(stopped.get());
    }

    @Override
    public boolean isCancelled() {
      if (stopped.get() != null) {
        return true;
      }
      if (Thread.currentThread().isInterrupted()) {
        stopped.set("the request was cancelled");
        return true;
      }
      if (Instant.now().isAfter(deadline)) {
        stopped.set("it took longer than the import timeout: import a smaller repository, or ask the administrator "
            + "to raise heyken.sandbox.import-timeout");
        return true;
      }
      long now = System.nanoTime();
      if (now - lastCheck > CHECK_EVERY_NANOS) {
        lastCheck = now;
        long size = directorySize(dir);
        if (size > maxBytes) {
          stopped.set("the repository's history is larger than " + ByteSize.format(maxBytes)
              + ": import a smaller repository (e.g. a fresh one with only the feature's files)");
          return true;
        }
      }
      return false;
    }

    @Override
    public void start(int totalTasks) {}

    @Override
    public void beginTask(String title, int totalWork) {}

    @Override
    public void update(int completed) {}

    @Override
    public void endTask() {}

    @Override
    public void showDuration(boolean enabled) {}
  }

  /**
   * Accepts {@code http://}, {@code https://} and {@code file:///absolute/path}; refuses SSH (no keys are configured
   * and host keys cannot be confirmed), {@code git://} (unauthenticated, unencrypted), transport helpers such as
   * {@code ext::} (they run commands) and bare local paths (ambiguous: say file:// when a local repository is meant).
   */
  static String checkImportUrl(String gitUrl) {
    if (gitUrl == null || gitUrl.isBlank()) {
      throw new GitImportException("no git URL given: give the http(s):// or file:// URL of the repository");
    }
    String url = gitUrl.strip();
    if (url.contains("::")) {
      // ext:: runs a command of the URL's choosing: refused before anything else is looked at
      throw new GitImportException("'" + PathGuard.display(redact(url)) + "' uses a git transport helper (like ext::),"
          + " which Heyken refuses: give an http(s):// or file:// URL");
    }
    for (int i = 0; i < url.length(); i++) {
      if (Character.isWhitespace(url.charAt(i)) || Character.isISOControl(url.charAt(i))) {
        throw new GitImportException("the git URL contains spaces or control characters: give a plain http(s):// "
            + "or file:// URL");
      }
    }
    String shown = redact(url);
    if (!url.contains("://") && SCP_LIKE.matcher(url).matches()) {
      throw new GitImportException("'" + shown + "' is an SSH address, which Heyken does not support: give the "
          + "repository's https:// clone URL");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new GitImportException("'" + shown + "' is not a valid URL: " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    switch (scheme) {
      case "http", "https" -> {
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
          throw new GitImportException("'" + shown + "' has no host: give a URL like https://gitlab.example/group/repo"
              + ".git");
        }
      }
      case "file" -> {
        String host = uri.getHost();
        if (host != null && !host.isEmpty() && !host.equalsIgnoreCase("localhost")
            || uri.getPath() == null || !uri.getPath().startsWith("/")) {
          throw new GitImportException("'" + shown + "' is not a local repository URL: write file:///absolute/path "
              + "(three slashes)");
        }
      }
      case "" -> throw new GitImportException("'" + shown + "' is a local path, not a URL: write it as file://"
          + (url.startsWith("/") ? url : "/absolute/path") + " if a repository on this machine is meant");
      case "ssh", "git+ssh", "ssh+git" -> throw new GitImportException("'" + shown + "' uses SSH, which Heyken does "
          + "not support: give the repository's https:// clone URL");
      case "git" -> throw new GitImportException("'" + shown + "' uses the git:// protocol (unauthenticated and "
          + "unencrypted), which Heyken refuses: give the repository's https:// clone URL");
      default -> throw new GitImportException("'" + shown + "' uses '" + scheme + "://', which Heyken does not "
          + "support: give an http(s):// or file:// URL");
    }
    return url;
  }

  /** The URL without user and password, for messages and logs. */
  static String redact(String text) {
    return text == null ? null : USER_INFO.matcher(text).replaceAll("***@");
  }

  private RevCommit resolveCommit(Repository repo, RevWalk walk, String featureId, String revision)
      throws IOException {
    if (revision == null || revision.isBlank()) {
      throw new UnknownRevisionException("no revision given: give a commit id of feature " + featureId
          + " (at least 7 hex characters)");
    }
    String rev = revision.strip();
    if (rev.equals(BRANCH) || rev.equals(Constants.HEAD)) {
      Ref main = repo.exactRef(MAIN);
      if (main == null || main.getObjectId() == null) {
        throw new UnknownRevisionException("feature " + featureId + " has no revision yet");
      }
      return walk.parseCommit(main.getObjectId());
    }
    if (!HEX.matcher(rev).matches()) {
      throw new UnknownRevisionException("'" + PathGuard.display(rev) + "' is not a revision id: give a commit id "
          + "of feature " + featureId + " (7 to 40 hex characters)");
    }
    rev = rev.toLowerCase(Locale.ROOT);
    ObjectId id;
    try (ObjectReader reader = repo.newObjectReader()) {
      var commits = new ArrayList<ObjectId>();
      for (ObjectId candidate : reader.resolve(AbbreviatedObjectId.fromString(rev))) {
        if (reader.open(candidate).getType() == Constants.OBJ_COMMIT) {
          commits.add(candidate);
        }
      }
      if (commits.isEmpty()) {
        throw new UnknownRevisionException("feature " + featureId + " has no revision " + rev
            + ": list its revisions to find the id");
      }
      if (commits.size() > 1) {
        throw new UnknownRevisionException("'" + rev + "' matches " + commits.size() + " revisions of feature "
            + featureId + ": give more characters of the id");
      }
      id = commits.get(0);
    } catch (MissingObjectException e) {
      throw new UnknownRevisionException("feature " + featureId + " has no revision " + rev);
    }
    return walk.parseCommit(id);
  }

  private Revision revision(Repository repo, RevWalk walk, RevCommit commit) throws IOException {
    walk.parseBody(commit);
    var files = new ArrayList<String>();
    try (TreeWalk tw = new TreeWalk(repo)) {
      tw.setRecursive(true);
      if (commit.getParentCount() > 0) {
        RevCommit parent = walk.parseCommit(commit.getParent(0));
        tw.addTree(parent.getTree());
        tw.addTree(commit.getTree());
        tw.setFilter(TreeFilter.ANY_DIFF);
      } else {
        tw.addTree(new EmptyTreeIterator());
        tw.addTree(commit.getTree());
      }
      while (tw.next()) {
        files.add(tw.getPathString());
      }
    }
    PersonIdent author = commit.getAuthorIdent();
    return new Revision(commit.name(), commit.getFullMessage().strip(), author.getName(), author.getWhenAsInstant(),
        files);
  }

  private Repository open(String featureId) throws IOException {
    Path dir = repositoryDir(featureId);
    if (!Files.isDirectory(dir)) {
      throw new UnknownFeatureException(featureId);
    }
    return new FileRepositoryBuilder().setGitDir(dir.toFile()).setMustExist(true).build();
  }

  private static Repository initBare(Path dir) throws IOException {
    Repository repo = new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().build();
    repo.create(true);
    // the initial branch would otherwise come from the host's git configuration (master or main)
    RefUpdate head = repo.updateRef(Constants.HEAD);
    head.disableRefLog();
    head.link(MAIN);
    return repo;
  }

  private Path repositoryDir(String featureId) {
    return gitRoot.resolve(featureId + ".git");
  }

  /** The bare repository of a feature, for pushing its revisions elsewhere (GitLab); it may not exist. */
  public Path gitDir(String featureId) {
    return repositoryDir(featureId);
  }

  private Path temporary(String featureId) {
    // ids start with a letter or digit, so a leading dot never names a feature
    return gitRoot.resolve(TEMPORARY_PREFIX + featureId + "-" + UUID.randomUUID());
  }

  private static void publish(Path tmp, Path target, String featureId) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
      throw new FeatureExistsException(featureId);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("the git directory does not support atomic renames: " + e.getMessage(), e);
    }
  }

  private static Path emptyDirectory(Path dir) throws IOException {
    Path root = dir.toAbsolutePath().normalize();
    if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
        throw new IllegalArgumentException("checkout target " + root + " is not a directory");
      }
      try (Stream<Path> entries = Files.list(root)) {
        if (entries.findAny().isPresent()) {
          throw new IllegalArgumentException("checkout target " + root + " is not empty: give a fresh directory");
        }
      }
    } else {
      Files.createDirectories(root);
    }
    return root.toRealPath();
  }

  private static void setMode(Path file, String permissions) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: there is no executable bit to keep
    }
  }

  private static void refuseSpecial(String path, FileMode mode, String where) {
    if (FileMode.SYMLINK.equals(mode)) {
      throw InvalidFilesException.of(path, "is a symbolic link in " + where + ": Heyken checks out plain files only");
    }
    if (FileMode.GITLINK.equals(mode)) {
      throw InvalidFilesException.of(path, "is a submodule in " + where + ": Heyken checks out plain files only");
    }
  }

  private static String author(String author) {
    if (author == null || author.isBlank()) {
      throw new IllegalArgumentException("no author given: say who made the change");
    }
    // git's person line is "name <email> time zone": these characters would corrupt it
    String clean = author.replaceAll("[\\p{Cntrl}<>]", " ").strip();
    return clean.length() > MAX_AUTHOR ? clean.substring(0, MAX_AUTHOR) : clean;
  }

  private static String message(String message, String fallback) {
    String m = message == null ? "" : message.replace("\r\n", "\n").strip();
    if (m.isEmpty()) {
      return fallback;
    }
    return m.length() > MAX_MESSAGE ? m.substring(0, MAX_MESSAGE) : m;
  }

  private static String defaultMessage(Map<String, String> files) {
    var names = new TreeMap<>(files).keySet().stream().limit(3).toList();
    return "Update " + String.join(", ", names) + (files.size() > 3 ? " and " + (files.size() - 3) + " more" : "");
  }

  private static String firstLine(String message) {
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }

  private static void throwIfAny(List<InvalidFilesException.Problem> problems) {
    if (!problems.isEmpty()) {
      throw new InvalidFilesException(problems);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    String top = e.getMessage();
    return top != null && !top.equals(m) && !top.contains(m) ? top + " (" + m + ")" : m;
  }

  @FunctionalInterface
  private interface GitWork<T> {
    T run() throws IOException;
  }

  private <T> T locked(String featureId, GitWork<T> work) {
    ReentrantLock lock = locks.computeIfAbsent(featureId, id -> new ReentrantLock());
    lock.lock();
    try {
      return io(work);
    } finally {
      lock.unlock();
    }
  }

  private static <T> T io(GitWork<T> work) {
    try {
      return work.run();
    } catch (IOException e) {
      throw new UncheckedIOException("git storage failed: " + e.getMessage(), e);
    }
  }

  private void removeStaleTemporaries() {
    Instant before = Instant.now().minus(STALE);
    try (Stream<Path> entries = Files.list(gitRoot)) {
      entries.filter(p -> {
        String name = p.getFileName().toString();
        return name.startsWith(TEMPORARY_PREFIX) || name.startsWith(TRASH_PREFIX);
      }).forEach(p -> {
        try {
          FileTime modified = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
          if (modified.toInstant().isBefore(before)) {
            log.info("removing {}, left behind by an interrupted create, import or delete", p);
            deleteQuietly(p);
          }
        } catch (IOException e) {
          log.warn("cannot inspect {}: {}", p, e.getMessage());
        }
      });
    } catch (IOException e) {
      log.warn("cannot list {} for left-over temporaries: {}", gitRoot, e.getMessage());
    }
  }

  private static long directorySize(Path dir) {
    long[] total = {0};
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
          total[0] += attrs.size();
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) {
          // pack files come and go while JGit writes them
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      return total[0];
    }
    return total[0];
  }

  private static void deleteQuietly(Path dir) {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
          if (e instanceof NoSuchFileException) {
            return FileVisitResult.CONTINUE;
          }
          throw e;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      log.warn("could not delete {} completely: {}", dir, e.getMessage());
    }
  }
}
