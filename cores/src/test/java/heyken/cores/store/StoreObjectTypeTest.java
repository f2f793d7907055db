package heyken.cores.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.ObjectDataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's documents are written with a reused serialization stream: the bytes are those H2's ObjectDataType
 * writes (what every store file so far holds), object after object and after a failed one, and a file goes from one
 * type to the other and back with the same documents.
 */
class StoreObjectTypeTest {

  @TempDir
  Path dir;

  private final Random random = new Random(20261207);

  /** Documents as the journal, the snapshots and the lease hold them: nested, repeated strings, ids, binary. */
  private Object randomObject() {
    return switch (random.nextInt(5)) {
      case 0 -> new ObjectId();
      case 1 -> new KeyValue("pid-" + random.nextInt(50), (long) random.nextInt(100_000));
      case 2 -> new Document("_id", "lease-heyken").append("owner", "core-" + random.nextInt(2))
          .append("expires", new Date(1_800_000_000_000L + random.nextInt(1_000_000)))
          .append("version", (long) random.nextInt(1_000));
      default -> {
        byte[] payload = new byte[random.nextInt(2_000)];
        random.nextBytes(payload);
        List<Object> events = new ArrayList<>();
        for (int i = random.nextInt(4); i >= 0; i--) {
          events.add(new Document("payload", payload).append("manifest", "heyken.Event").append("sn", (long) i)
              .append("_tg", List.of("feature", "feature")));
        }
        yield new Document("_id", new ObjectId()).append("pid", "feature|f-" + random.nextInt(100))
            .append("from", (long) random.nextInt(1_000)).append("events", events)
            .append("at", Instant.ofEpochMilli(1_800_000_000_000L + random.nextInt(1_000_000)).toString());
      }
    };
  }

  @Test
  void everyObjectSerializesToObjectDataTypesBytes() {
    for (int i = 0; i < 2_000; i++) {
      Object obj = randomObject();
      assertArrayEquals(ObjectDataType.serialize(obj), StoreObjectType.serialized(obj), "bytes of object " + i);
    }
  }

  @Test
  void aPageIsWrittenAsObjectDataTypeWritesItAndReadBack() {
    ObjectDataType plain = new ObjectDataType();
    StoreObjectType fast = new StoreObjectType();
    for (int page = 0; page < 50; page++) {
      // a page of documents, and of the other types H2 writes itself (numbers, strings, nulls)
      Object[] storage = page(() -> switch (random.nextInt(4)) {
        case 0 -> (long) random.nextInt();
        case 1 -> random.nextBoolean() ? null : "core-" + random.nextInt(9);
        default -> randomObject();
      });
      byte[] expected = written(plain, storage);
      assertArrayEquals(expected, written(fast, storage), "page " + page);
      Object[] read = new Object[storage.length];
      fast.read(ByteBuffer.wrap(expected), read, read.length);
      for (int i = 0; i < storage.length; i++) {
        assertSame(storage[i], read[i], "page " + page + " read back, entry " + i);
      }
    }
  }

  @Test
  void aPageOfDocumentsCostsInTheCacheWhatObjectDataTypeSays() {
    ObjectDataType plain = new ObjectDataType();
    StoreObjectType fast = new StoreObjectType();
    for (int page = 0; page < 20; page++) {
      Object[] storage = page(() -> new Document("_id", new ObjectId()).append("object", randomObject()));
      assertArrayEquals(written(plain, storage), written(fast, storage), "page " + page);
      // twice the bytes, averaged over what was written (10,000 before anything was)
      for (Object obj : storage) {
        assertEquals(plain.getMemory(obj), fast.getMemory(obj), "memory of " + obj);
      }
    }
    assertTrue(fast.getMemory(new Document()) < 10_000, "the estimate follows what was written");
  }

  @Test
  void anObjectThatCannotBeSerializedFailsAloneAndTheNextOnesAreRight() {
    Document broken = new Document("_id", "x").append("thread", new Object()); // not serializable
    IllegalArgumentException failure = assertThrows(IllegalArgumentException.class,
        () -> StoreObjectType.serialized(broken));
    assertEquals(java.io.NotSerializableException.class, failure.getCause().getClass());
    assertThrows(IllegalArgumentException.class, () -> written(new StoreObjectType(), new Object[] {broken}));
    for (int i = 0; i < 200; i++) {
      Object obj = randomObject();
      assertArrayEquals(ObjectDataType.serialize(obj), StoreObjectType.serialized(obj), "bytes of object " + i);
    }
  }

  @Test
  void aFileWrittenWithObjectDataTypeOpensWithTheSameDocumentsAndBack() {
    String file = dir.resolve("documents.mv").toString();
    List<Document> documents = new ArrayList<>();
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      MVMap<Object, Document> map = store.openMap("documents"); // as every version so far opened it
      for (int i = 0; i < 500; i++) {
        Document document = new Document("_id", new ObjectId()).append("n", i).append("object", randomObject());
        documents.add(document);
        map.put(document.get("_id"), document);
      }
      store.commit();
    }
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      MVMap<Object, Document> map = store.openMap("documents", new MVMap.Builder<Object, Document>()
          .keyType(new StoreObjectType()).valueType(new StoreObjectType()));
      assertHolds(documents, map);
      for (int i = 0; i < documents.size(); i += 3) {
        Document changed = new Document(documents.get(i)).append("n", -i).append("more", randomObject());
        documents.set(i, changed);
        map.put(changed.get("_id"), changed);
      }
      store.commit();
    }
    try (MVStore store = new MVStore.Builder().fileName(file).keysPerPage(16).open()) {
      assertHolds(documents, store.openMap("documents")); // as an older version opens it
    }
  }

  private static void assertHolds(List<Document> documents, MVMap<Object, Document> map) {
    assertEquals(documents.size(), map.size());
    for (Document document : documents) {
      assertSame(document, map.get(document.get("_id")), "document " + document.get("_id"));
    }
  }

  /** The same content: Document.equals compares a binary payload (a byte[]) by identity, so compared here in order. */
  private static void assertSame(Object expected, Object actual, String what) {
    assertEquals(content(expected), content(actual), what);
  }

  private static Object content(Object obj) {
    if (obj instanceof Document document) {
      List<Object> entries = new ArrayList<>();
      document.forEach((key, value) -> entries.add(List.of(key, content(value))));
      return entries;
    } else if (obj instanceof KeyValue keyValue) {
      return keyValue.stream().map(StoreObjectTypeTest::content).toList();
    } else if (obj instanceof List<?> list) {
      return list.stream().map(StoreObjectTypeTest::content).toList();
    } else if (obj instanceof byte[] bytes) {
      return java.util.Arrays.toString(bytes);
    }
    return obj;
  }

  /** A leaf page's worth of entries (the store's 16 keys per page). */
  private static Object[] page(Supplier<Object> entry) {
    Object[] storage = new Object[16];
    for (int i = 0; i < storage.length; i++) {
      storage[i] = entry.get();
    }
    return storage;
  }

  private static byte[] written(ObjectDataType type, Object[] storage) {
    WriteBuffer buff = new WriteBuffer();
    type.write(buff, storage, storage.length);
    ByteBuffer bytes = buff.getBuffer();
    bytes.flip();
    byte[] out = new byte[bytes.remaining()];
    bytes.get(out);
    return out;
  }
}
