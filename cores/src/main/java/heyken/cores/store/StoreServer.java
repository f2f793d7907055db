package heyken.cores.store;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.MongoDatabaseHandler;
import de.bwaldvogel.mongo.wire.MongoExceptionHandler;
import de.bwaldvogel.mongo.wire.MongoWireMessageEncoder;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import de.bwaldvogel.mongo.wire.MongoWireReplyEncoder;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The store's listener: mongo-java-server's wire protocol with two backends behind one port, so that the control
 * plane never queues behind bulk data.
 *
 * <p>mongo-java-server's own {@code MongoServer} runs every command on the Netty event loop that reads the socket (2 x
 * CPUs threads shared by all connections), and the data backend runs one write at a time, each committed before the
 * reply ({@link CommitOnWriteH2Backend}). A lease renewal therefore waited for the commits of every journal write
 * ahead of it, and for any slow command of another connection that happened to share its event loop. Here:
 * <ul>
 *   <li>commands on the lease collection, and the driver's handshakes and heartbeats ({@code hello},
 *       {@code isMaster}, ...), are answered by the <b>control</b> backend (its own small H2 file, its own write lock
 *       and commits) right on the event loop: they take well under a millisecond and wait for nobody;</li>
 *   <li>every other command runs on the <b>data</b> threads ({@code heyken-store-data-N}), off the event loops, so
 *       a long scan or a write waiting for its turn never holds up the reading of the other sockets. Each
 *       connection keeps its order (one data thread per connection, as Netty assigns it).</li>
 * </ul>
 */
final class StoreServer {

  // answered by the control backend whatever database they name: cheap, touch no collection, and the driver's
  // monitors time out (and then every operation of that client waits for a server) when they are slow
  private static final Set<String> HANDSHAKES = Set.of("hello", "ismaster", "buildinfo", "whatsmyuri",
      "getlasterror", "saslstart", "saslcontinue", "endsessions");

  private final MongoBackend data;
  private final MongoBackend control;
  private final String controlCollection;
  private final int dataThreads;
  private EventLoopGroup bossGroup;
  private EventLoopGroup ioGroup;
  private EventExecutorGroup dataGroup;
  private ChannelGroup channels;
  private Channel channel;

  /**
   * @param controlCollection the collection (in any database) whose commands go to {@code control}
   * @param dataThreads threads running the data backend's commands
   */
  StoreServer(MongoBackend data, MongoBackend control, String controlCollection, int dataThreads) {
    this.data = data;
    this.control = control;
    this.controlCollection = controlCollection;
    this.dataThreads = dataThreads;
  }

  /** The backend of the data (the journal's database): for tests that look at its collections. */
  MongoBackend data() {
    return data;
  }

  synchronized InetSocketAddress bind(String host, int port) {
    bossGroup = new NioEventLoopGroup(1, threads("heyken-store-accept"));
    ioGroup = new NioEventLoopGroup(2, threads("heyken-store-io"));
    dataGroup = new DefaultEventExecutorGroup(dataThreads, threads("heyken-store-data"));
    channels = new DefaultChannelGroup("heyken-store-clients", ioGroup.next());
    try {
      channel = new ServerBootstrap()
          .group(bossGroup, ioGroup)
          .channel(NioServerSocketChannel.class)
          .option(ChannelOption.SO_BACKLOG, 100)
          .childOption(ChannelOption.TCP_NODELAY, Boolean.TRUE)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new MongoWireReplyEncoder());
              ch.pipeline().addLast(new MongoWireMessageEncoder());
              ch.pipeline().addLast(new MongoWireProtocolHandler());
              ch.pipeline().addLast("control", new ControlHandler(control, channels, controlCollection));
              ch.pipeline().addLast(dataGroup, "data", new MongoDatabaseHandler(data, channels));
              ch.pipeline().addLast(new MongoExceptionHandler());
            }
          })
          .bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
    } catch (RuntimeException e) {
      shutdownNow();
      throw e;
    }
    return (InetSocketAddress) channel.localAddress();
  }

  synchronized InetSocketAddress localAddress() {
    return channel == null ? null : (InetSocketAddress) channel.localAddress();
  }

  /** Stops listening, closes the clients, waits for the threads, then closes both backends. */
  synchronized void shutdownNow() {
    if (channel != null) {
      channel.close().syncUninterruptibly();
      channel = null;
    }
    if (channels != null) {
      channels.close().syncUninterruptibly();
    }
    for (EventExecutorGroup group : new EventExecutorGroup[] {bossGroup, ioGroup, dataGroup}) {
      if (group != null) {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
      }
    }
    bossGroup = ioGroup = null;
    dataGroup = null;
    data.close();
    control.close();
  }

  /** Whether a request goes to the control backend. */
  static boolean isControl(Object request, String controlCollection) {
    Document command;
    if (request instanceof MongoMessage message) {
      command = message.getDocument();
    } else if (request instanceof MongoQuery query && query.getCollectionName().startsWith("$cmd")) {
      command = query.getQuery();
      if (command != null && command.get("$query") instanceof Document wrapped) {
        command = wrapped;
      }
    } else {
      return false;
    }
    if (command == null || command.isEmpty()) {
      return false;
    }
    String name = command.keySet().iterator().next();
    if (HANDSHAKES.contains(name.toLowerCase(Locale.ROOT))) {
      return true;
    }
    Object target = name.equalsIgnoreCase("getMore") ? command.get("collection") : command.get(name);
    return controlCollection.equals(target);
  }

  /** mongo-java-server's handler on the control backend, for control requests only; it passes on the rest. */
  private static final class ControlHandler extends MongoDatabaseHandler {
    private final String controlCollection;

    ControlHandler(MongoBackend backend, ChannelGroup channels, String controlCollection) {
      super(backend, channels);
      this.controlCollection = controlCollection;
    }

    @Override
    public boolean acceptInboundMessage(Object msg) {
      return isControl(msg, controlCollection);
    }
  }

  private static ThreadFactory threads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
