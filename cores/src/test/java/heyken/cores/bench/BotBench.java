package heyken.cores.bench;

import heyken.testkit.HeykenProcesses;
import heyken.testkit.ollama.OllamaStandIn;
import heyken.testkit.rocketchat.RocketChatStandIn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The bot's reply latency without the language model's time (bench/bot.sh; not a test): the Rocket.Chat and Ollama
 * stand-ins in this JVM (Ollama answers at once), the store and both cores as real JVMs from the fat jar. Each
 * message is a DM question to heyken_bot; its latency runs from the user's message being stored in Rocket.Chat to
 * the bot's reply being stored there: the realtime push to the gateway, the admin check, the room's conversation
 * (sharded, persisted), the status context and the model client, the post back over REST. Each room waits for its
 * reply before it sends the next message; rooms run in parallel.
 */
public final class BotBench {

  private BotBench() {}

  /** bench.kind=command: the messages are commands (whoami) instead of questions for the model. */
  private static final boolean COMMANDS = "command".equals(System.getProperty("bench.kind"));

  public static void main(String[] args) throws Exception {
    Path jar = Path.of(args.length > 0 ? args[0] : "cores/target/heyken-core.jar");
    int messages = Integer.getInteger("bench.messages", 200);
    int warmup = Integer.getInteger("bench.warmup", 40);
    int maxRooms = 20;
    try (var chat = RocketChatStandIn.builder().admin("admin", "admin-password").start();
        var ollama = OllamaStandIn.start();
        var heyken = new HeykenProcesses(jar, Files.createTempDirectory("heyken-bench-bot-"))) {
      heyken.withRocketChat(chat.url())
          .withEnv("OLLAMA_URL", ollama.url())
          .withEnv("HEYKEN_CHAT_LOGS", "false");
      System.out.println("starting the store and two cores (" + jar + ") ...");
      heyken.startStore();
      heyken.startCore(1);
      // core-2 joins a running core-1 (started together on a loaded machine, each may form its own cluster)
      heyken.awaitStatus("core-1 active", Duration.ofSeconds(120), s -> s.path("active_core").asInt() == 1);
      heyken.startCore(2);
      heyken.awaitStatus("both cores up", Duration.ofSeconds(120), s -> s.path("healthy").asBoolean());
      HeykenProcesses.await("the gateway listening", Duration.ofSeconds(60),
          () -> chat.user("user").isPresent() && chat.myMessagesSubscribers("heyken_bot") > 0);

      var waiting = new ConcurrentHashMap<String, CompletableFuture<Long>>();
      // a reply is there when the bot's message in the room holds the whole answer: posted whole, or edited to it
      // (a question that waited for the model is first told its place in the queue)
      java.util.function.Consumer<RocketChatStandIn.Posted> replied = p -> {
        if ("heyken_bot".equals(p.username()) && isWhole(p.text())) {
          var f = waiting.remove(p.roomId());
          if (f != null) {
            f.complete(System.nanoTime());
          }
        }
      };
      chat.onPosted(replied);
      chat.onEdited(replied);
      var people = new ArrayList<Person>();
      for (int i = 1; i <= maxRooms; i++) {
        String name = "bench" + i;
        chat.createUser(name, "pw-" + name);
        people.add(new Person(name, chat, waiting));
      }
      System.out.println("warm-up: " + warmup + " messages in " + maxRooms + " rooms (not counted)");
      run(people, warmup);
      var results = new ArrayList<String>();
      for (int rooms : List.of(1, maxRooms)) {
        long cpuBefore = cpuNanos();
        long wallBefore = System.nanoTime();
        var latencies = run(people.subList(0, rooms), messages);
        double cpuPerMessage = (cpuNanos() - cpuBefore) / 1e6 / latencies.size();
        double wallPerMessage = (System.nanoTime() - wallBefore) / 1e6 / latencies.size();
        results.add(String.format("%2d room%s, %d messages: p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms  mean %6.1f ms"
                + "   (targets: p50 <= 50 ms, p99 <= 200 ms); CPU %.1f ms per message (all JVMs), %.0f messages/s",
            rooms, rooms == 1 ? " " : "s", latencies.size(), pct(latencies, 50), pct(latencies, 99),
            latencies.get(latencies.size() - 1), mean(latencies), cpuPerMessage, 1000 / wallPerMessage));
        System.out.println(results.get(results.size() - 1));
      }
      System.out.println();
      System.out.println("bot reply latency, language model excluded (the Ollama stand-in answers at once):");
      results.forEach(r -> System.out.println("  " + (COMMANDS ? "commands (whoami)  " : "questions (model)  ") + r));
    }
    System.exit(0);
  }

  private static boolean isWhole(String text) {
    return text != null && !text.startsWith("You are number ") && !text.equals("Writing the answer…")
        && !text.endsWith(" …");
  }

  /** One person with a DM room; sends, waits for the bot's reply, sends the next. */
  private static final class Person {
    final String name;
    final RocketChatStandIn chat;
    final Map<String, CompletableFuture<Long>> waiting;
    String roomId;

    Person(String name, RocketChatStandIn chat, Map<String, CompletableFuture<Long>> waiting) {
      this.name = name;
      this.chat = chat;
      this.waiting = waiting;
    }

    double ask(int n) throws Exception {
      var reply = new CompletableFuture<Long>();
      if (roomId != null) {
        waiting.put(roomId, reply);
      }
      long sent = System.nanoTime();
      String id = chat.directMessage(name, "heyken_bot", COMMANDS ? "whoami" : "bench question " + n + " from " + name);
      if (roomId == null) {
        // the first message opens the DM: its reply can only be awaited once the room is known
        roomId = chat.message(id).orElseThrow().path("rid").asText();
        long done = awaitFirst(roomId);
        return (done - sent) / 1e6;
      }
      return (reply.get(30, TimeUnit.SECONDS) - sent) / 1e6;
    }

    private long awaitFirst(String room) throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (chat.postedBy("heyken_bot").stream().noneMatch(p -> p.roomId().equals(room))
          || !isWhole(chat.message(chat.postedBy("heyken_bot").stream().filter(p -> p.roomId().equals(room))
              .reduce((a, b) -> b).orElseThrow().messageId()).orElseThrow().path("msg").asText())) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no reply in " + room);
        }
        Thread.sleep(1);
      }
      return System.nanoTime();
    }
  }

  /** {@code total} messages spread over the people's rooms, each room sequential; latencies sorted (ms). */
  private static List<Double> run(List<Person> people, int total) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(people.size());
    try {
      var all = Collections.synchronizedList(new ArrayList<Double>());
      var futures = new ArrayList<CompletableFuture<Void>>();
      for (int i = 0; i < people.size(); i++) {
        var person = people.get(i);
        int count = total / people.size() + (i < total % people.size() ? 1 : 0);
        futures.add(CompletableFuture.runAsync(() -> {
          for (int n = 0; n < count; n++) {
            try {
              all.add(person.ask(n));
            } catch (Exception e) {
              throw new IllegalStateException(person.name + " got no reply to message " + n + ": " + e, e);
            }
          }
        }, pool));
      }
      CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).get(10, TimeUnit.MINUTES);
      var sorted = new ArrayList<>(all);
      Collections.sort(sorted);
      return sorted;
    } finally {
      pool.shutdownNow();
    }
  }

  /** CPU time used so far by this JVM (the stand-ins) and its children (the store and the cores). */
  private static long cpuNanos() {
    long total = ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    total += ProcessHandle.current().descendants().mapToLong(p -> p.info().totalCpuDuration()
        .map(Duration::toNanos).orElse(0L)).sum();
    return total;
  }

  private static double pct(List<Double> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }

  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(0);
  }
}
