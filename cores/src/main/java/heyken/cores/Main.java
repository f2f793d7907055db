package heyken.cores;

import com.typesafe.config.ConfigFactory;
import heyken.cores.store.HeykenStore;
import java.util.Arrays;
import java.util.List;

/**
 * The one entry point of the fat jar: {@code store} runs the embedded MongoDB-protocol store,
 * {@code core --id N [--rejoin]} runs core N. Parses arguments and configuration, nothing else.
 */
public final class Main {

  private static final String USAGE = """
      usage: java -jar heyken-core.jar <command>
        store                  run the embedded MongoDB-protocol store (heyken.store.*, HEYKEN_STORE_PORT)
        core --id N [--rejoin] run core N (1 or 2); --rejoin: this is a restart, join the running peer only
        cds-training           start and stop a throw-away core on ephemeral ports, so that
                               `java -XX:ArchiveClassesAtExit=F -jar heyken-core.jar cds-training` writes a class
                               archive F; cores started with -XX:SharedArchiveFile=F start ~1 s faster
        setup-rocketchat       provision Rocket.Chat (bot and human users, channels, wizard) and print what was done;
                               a second run changes nothing and says so (ROCKETCHAT_URL, ROCKETCHAT_ADMIN_*)
        version [--json]       this build: git revision, build time, Pekko version, serializer bindings
        check-journal --mongo-uri URI [--out FILE]
                               recover every persistence id of the database in URI (a scratch copy) through the
                               real plugin and serializers and print a digest per id as JSON (the upgrade's check)
        help                   this text
      Configuration: application.conf in the jar, overridden by HEYKEN_* environment variables
      (see README.md) or -Dconfig.file=...""";

  /** The JDK's system property for the common pool's size (read once, when the pool is first used). */
  static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  public static void main(String[] args) {
    sizeCommonPool(Runtime.getRuntime().availableProcessors());
    List<String> a = Arrays.asList(args);
    if (a.isEmpty() || a.contains("--help") || a.contains("-h") || a.get(0).equals("help")) {
      System.out.println(USAGE);
      System.exit(a.isEmpty() ? 2 : 0);
    }
    switch (a.get(0)) {
      case "store" -> HeykenStore.run(ConfigFactory.load());
      case "core" -> System.exit(core(a.subList(1, a.size())));
      case "cds-training" -> System.exit(CdsTraining.run(ConfigFactory.load()));
      case "version" -> {
        if (a.contains("--json")) {
          System.exit(JournalCheck.version(ConfigFactory.load(), System.out));
        }
        System.out.println("heyken " + heyken.actors.upgrade.BuildVersion.current().label() + " (Pekko "
            + org.apache.pekko.Version.current() + ")");
        System.exit(0);
      }
      case "check-journal" -> {
        try {
          System.exit(JournalCheck.checkJournal(a.subList(1, a.size()), System.out, System.err));
        } catch (java.io.IOException e) {
          System.err.println("check-journal: " + e.getMessage());
          System.exit(1);
        }
      }
      case "setup-rocketchat" -> System.exit(SetupRocketChat.run(ConfigFactory.load(), System.out, System.err));
      default -> {
        System.err.println("unknown command '" + a.get(0) + "'\n" + USAGE);
        System.exit(2);
      }
    }
  }

  private static int core(List<String> args) {
    Integer id = null;
    boolean rejoin = false;
    for (int i = 0; i < args.size(); i++) {
      switch (args.get(i)) {
        case "--id" -> {
          if (i + 1 >= args.size()) {
            return usage("--id needs a value: 1 or 2");
          }
          try {
            id = Integer.parseInt(args.get(++i));
          } catch (NumberFormatException e) {
            return usage("--id must be 1 or 2, got '" + args.get(i) + "'");
          }
        }
        case "--rejoin" -> rejoin = true;
        default -> {
          return usage("unknown option '" + args.get(i) + "'");
        }
      }
    }
    if (id == null) {
      String env = System.getenv("HEYKEN_CORE_ID");
      id = env == null ? null : Integer.valueOf(env.trim());
    }
    if (id == null || (id != 1 && id != 2)) {
      return usage("which core? give --id 1 or --id 2");
    }
    // the console pattern and the store appender read the core id from here
    System.setProperty("HEYKEN_CORE_ID", String.valueOf(id));
    return new CoreRuntime(ConfigFactory.load(), id, heyken.actors.upgrade.BuildVersion.current().label()).run(rejoin);
  }

  private static int usage(String problem) {
    System.err.println("heyken core: " + problem + "\n" + USAGE);
    return 2;
  }

  /**
   * Gives the common pool at least 2 threads, unless {@code -D} set its size. A {@code CompletableFuture}'s async step
   * without an executor runs there, and Pekko's Java API hands out futures (Scala's converters) whose every step is
   * async. With fewer than 2 threads in the pool (the default on a 2-CPU machine is 1), the JDK starts a new thread
   * for each such step instead: ~110 threads a second on the active core under the soak's 1,000 status requests a
   * second (a flight recording, bench/soak.sh --jfr), with their start-up, stacks to scan at each GC, and scheduling
   * on a busy machine in every request's latency. Must run before anything uses the pool.
   */
  static void sizeCommonPool(int processors) {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      System.setProperty(COMMON_POOL_PARALLELISM, String.valueOf(Math.max(2, processors - 1)));
    }
  }
}
