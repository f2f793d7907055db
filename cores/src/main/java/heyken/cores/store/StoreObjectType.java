package heyken.cores.store;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.ByteBuffer;
import java.util.function.Function;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.ObjectDataType;

/**
 * The type of the store's documents and index entries: H2's {@link ObjectDataType}, writing the very same bytes, with
 * the Java serialization of mongo-java-server's objects ({@link Document}, {@link KeyValue}, {@link ObjectId}) done
 * through one reused {@link ObjectOutputStream} per thread instead of a new stream per object. ObjectDataType
 * serializes every object of a page again whenever the page is written (a journal write or a lease renewal rewrites its
 * pages at the next commit); in a flight recording of the soak benchmark's store, these serializations were 45 % of all
 * it allocated, most of it the streams' own buffers and tables. The stream is reset between objects and the bytes of
 * each object start with the stream header, exactly as a new stream writes them, so files written before and after open
 * with either type.
 */
public class StoreObjectType extends ObjectDataType {

  // the tag ObjectDataType writes before a serialized object's length and bytes
  private static final byte TYPE_SERIALIZED_OBJECT = 19;

  // a thread's stream is dropped when an object left its buffer larger than this, so no thread keeps a big buffer
  private static final int KEEP_BUFFER_UP_TO = 1 << 20;

  private static final ThreadLocal<Serializer> SERIALIZER = new ThreadLocal<>();

  // what a serialized object weighs in the cache: twice its bytes, averaged as ObjectDataType does (its own average
  // is updated only by what it writes and reads itself)
  private int averageSize = 10_000;

  /** The bytes {@link ObjectDataType#serialize} gives for {@code obj}, through this thread's reused stream. */
  public static byte[] serialized(Object obj) {
    return withSerialized(obj, Bytes::toByteArray);
  }

  @Override
  public int getMemory(Object obj) {
    return serializedHere(obj) ? averageSize : super.getMemory(obj);
  }

  @Override
  public void write(WriteBuffer buff, Object obj) {
    if (!serializedHere(obj)) {
      super.write(buff, obj);
      return;
    }
    withSerialized(obj, bytes -> {
      counted(bytes.size());
      return buff.put(TYPE_SERIALIZED_OBJECT).putVarInt(bytes.size()).put(bytes.buffer(), 0, bytes.size());
    });
  }

  @Override
  public Object read(ByteBuffer buff) {
    if (buff.get(buff.position()) != TYPE_SERIALIZED_OBJECT) {
      return super.read(buff);
    }
    buff.get();
    byte[] data = new byte[DataUtils.readVarInt(buff)];
    buff.get(data);
    counted(data.length);
    return deserialize(data);
  }

  /** Adds an object of {@code length} serialized bytes to the average of what one weighs in the cache. */
  private void counted(int length) {
    averageSize = (int) ((length * 2L + 15L * averageSize) / 16);
  }

  /** What {@code use} makes of the bytes {@link ObjectDataType#serialize} gives for {@code obj}, in a reused buffer. */
  private static <T> T withSerialized(Object obj, Function<Bytes, T> use) {
    Serializer serializer = serializer();
    try {
      serializer.write(obj);
      return use.apply(serializer.out);
    } catch (IOException | RuntimeException e) {
      SERIALIZER.remove(); // a stream that failed within an object is not used again
      throw DataUtils.newIllegalArgumentException("Could not serialize {0}", obj, e);
    } finally {
      serializer.release();
    }
  }

  private static boolean serializedHere(Object obj) {
    return obj instanceof Document || obj instanceof KeyValue || obj instanceof ObjectId;
  }

  private static Serializer serializer() {
    Serializer serializer = SERIALIZER.get();
    if (serializer == null || serializer.busy) {
      // the first on this thread, or a serialization within one (an object's writeObject storing to the store)
      serializer = new Serializer();
      if (SERIALIZER.get() == null) {
        SERIALIZER.set(serializer);
      }
    }
    serializer.busy = true;
    return serializer;
  }

  /** A ByteArrayOutputStream whose buffer can be read without a copy. */
  private static final class Bytes extends ByteArrayOutputStream {
    byte[] buffer() {
      return buf;
    }
  }

  private static final class Serializer {
    private final Bytes out = new Bytes();
    private final ObjectOutputStream stream;
    private final byte[] header;
    private boolean busy;

    Serializer() {
      try {
        stream = new ObjectOutputStream(out); // writes the stream header, as every new stream does
        stream.flush();
      } catch (IOException e) {
        throw new IllegalStateException("an ObjectOutputStream over memory failed", e);
      }
      header = out.toByteArray();
    }

    /** Leaves in {@code out} the bytes a new stream gives for {@code obj}: the header, then the object. */
    void write(Object obj) throws IOException {
      stream.reset(); // forgets every object and class written before (and writes a reset mark, dropped next)
      stream.flush();
      out.reset();
      out.write(header);
      stream.writeObject(obj);
      stream.flush();
    }

    void release() {
      busy = false;
      if (out.buffer().length > KEEP_BUFFER_UP_TO && SERIALIZER.get() == this) {
        SERIALIZER.remove();
      }
    }
  }
}
