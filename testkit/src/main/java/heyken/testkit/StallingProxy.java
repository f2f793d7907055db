package heyken.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback in front of a server (the store) that can be made slow on purpose: {@link #stall()} holds
 * every byte either way (connections stay open, new ones are accepted, nothing arrives: a store that does not answer)
 * until {@link #resume()} forwards what was held; {@link #delay(Duration)} forwards each chunk only after a delay (a
 * slow store). Nothing is dropped, so the protocol on every connection stays intact.
 */
public final class StallingProxy implements AutoCloseable {

  private final ServerSocket listener;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private boolean stalled; // guarded by gate
  private volatile long delayNanos;

  public StallingProxy(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.listener = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "stalling-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** From now on nothing is forwarded, either way, until {@link #resume()}. */
  public void stall() {
    synchronized (gate) {
      stalled = true;
    }
  }

  /** Forwards what was held, and everything after it. */
  public void resume() {
    synchronized (gate) {
      stalled = false;
      gate.notifyAll();
    }
  }

  /** Every chunk is forwarded {@code delay} after it arrived ({@link Duration#ZERO}: at once). */
  public void delay(Duration delay) {
    delayNanos = delay.toNanos();
  }

  private void accept() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        sockets.add(client);
        Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(server);
        pump(client, server);
        pump(server, client);
      } catch (IOException e) {
        if (listener.isClosed()) {
          return;
        }
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) != -1) {
          long due = System.nanoTime() + delayNanos;
          waitWhileStalledOrUntil(due);
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException closed) {
        // the other side, or close(), ended it
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "stalling-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void waitWhileStalledOrUntil(long dueNanos) throws InterruptedException {
    synchronized (gate) {
      while (true) {
        long left = dueNanos - System.nanoTime();
        if (!stalled && left <= 0) {
          return;
        }
        long waitMillis = stalled ? 100 : Math.max(1, left / 1_000_000);
        gate.wait(waitMillis);
      }
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    resume();
    listener.close();
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }
}
