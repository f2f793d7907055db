package heyken.actors.gitlab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;

/** Local git repositories with commits, to push in tests. */
final class GitRepos {

  private GitRepos() {}

  /** A fresh repository; returns its .git directory. */
  static Path init(Path dir) throws IOException, GitAPIException {
    Files.createDirectories(dir);
    try (var git = Git.init().setDirectory(dir.toFile()).setInitialBranch("main").call()) {
      return git.getRepository().getDirectory().toPath();
    }
  }

  /** Writes the files and commits them; returns the commit id. */
  static String commit(Path gitDir, Map<String, String> files, String message) throws IOException, GitAPIException {
    try (var git = Git.open(gitDir.toFile())) {
      Path work = git.getRepository().getWorkTree().toPath();
      for (var file : files.entrySet()) {
        Path path = work.resolve(file.getKey());
        Files.createDirectories(path.getParent());
        Files.writeString(path, file.getValue());
      }
      git.add().addFilepattern(".").call();
      return git.commit().setMessage(message).setAuthor("test", "test@example.org")
          .setCommitter("test", "test@example.org").setSign(false).call().name();
    }
  }
}
