package heyken.actors.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.mongodb.client.MongoClients;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import heyken.actors.feature.RunLogStore;
import heyken.actors.support.TestLogStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The lines and run output an older version kept in MongoDB are copied into PostgreSQL once, then dropped there. */
class MongoLogImportTest {

  @Test
  void oldLinesAndRunOutputAreCopiedOnceThenTheCollectionsAreDropped() {
    var mongo = new MongoServer(new MemoryBackend());
    mongo.bind("127.0.0.1", 0);
    try (var client = MongoClients.create("mongodb://127.0.0.1:" + mongo.getLocalAddress().getPort());
        var pg = new TestLogStore(LogSettings.defaults("heyken_logs", 1000))) {
      var database = client.getDatabase("heyken");
      var docs = new ArrayList<Document>();
      Instant now = Instant.now();
      for (int i = 0; i < 2_500; i++) {
        // as the older appender wrote them
        var d = new Document("ts", Date.from(now.minusSeconds(i))).append("level", i % 10 == 0 ? "ERROR" : "INFO")
            .append("lvl", i % 10 == 0 ? 40000 : 20000).append("core", 1 + i % 2).append("epoch", 4L)
            .append("component", "feature").append("logger", "heyken.actors.feature.Feature").append("thread", "t")
            .append("message", "old line " + i);
        if (i % 5 == 0) {
          d.append("mdc", new Document("feature", "12").append("run", "run-" + i)).append("feature", "12")
              .append("run", "run-" + i);
        }
        docs.add(d);
      }
      database.getCollection("heyken_logs").insertMany(docs);
      database.getCollection("heyken_run_logs").insertMany(List.of(
          new Document("run", "run-old").append("attempt", 1).append("seq", 1L).append("job", "test")
              .append("stream", "stdout").append("text", "hello\n").append("at", new Date()),
          new Document("run", "run-old").append("attempt", 1).append("seq", 2L).append("job", "test")
              .append("stream", "stderr").append("text", "oops\n").append("at", new Date())));

      var importer = new MongoLogImport(pg.db(), database, "heyken_logs", "heyken_run_logs");
      var result = importer.run();
      assertTrue(result.ran());
      assertTrue(result.done());
      assertEquals(2_500, result.lines());
      assertEquals(2, result.chunks());
      assertEquals(2_500, pg.count());
      var page = pg.store().find(LogQuery.parse(Map.of("feature", "12", "level", "ERROR", "limit", "1000"), 1000,
          Instant.now()).query()).toCompletableFuture().join();
      assertEquals(250, page.logs().size(), "every 10th line is an ERROR, every 5th of feature 12: 1 in 10");
      assertEquals("run-0", page.logs().get(0).mdc().get("run"));
      assertEquals("old line 0", page.logs().get(0).message());
      var chunks = new RunLogStore(pg.db()).read("run-old", 0, 0, 10);
      assertEquals(List.of("hello\n", "oops\n"), chunks.stream().map(RunLogStore.Chunk::text).toList());
      assertFalse(database.listCollectionNames().into(new ArrayList<>()).contains("heyken_logs"), "dropped");

      // once: a second start finds it done, even when an old core wrote a line into the collection meanwhile
      database.getCollection("heyken_logs").insertOne(new Document("ts", new Date()).append("level", "INFO")
          .append("message", "late"));
      var again = importer.run();
      assertFalse(again.ran());
      assertTrue(again.done());
      assertEquals(2_500, pg.count());
    } finally {
      mongo.shutdownNow();
    }
  }
}
