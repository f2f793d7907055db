package heyken.actors.llm;

import heyken.actors.llm.LanguageModel.QueueListener;
import heyken.actors.llm.LanguageModel.QueueStatus;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lets at most {@code capacity} calls reach the model at once and queues the rest first come, first served,
 * telling each waiter its position. A plain {@link java.util.concurrent.Semaphore} bounds concurrency too, but
 * cannot say "you are number 3", which is what a chat user waiting for a slow local model wants to hear. Ollama
 * queues by itself as well (up to 512, then 503), but its queue is invisible to the client.
 */
final class AdmissionQueue {

  private final int capacity;
  private final int maxWaiting;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Object> waiting = new ArrayDeque<>();
  private int running;

  AdmissionQueue(int capacity, int maxWaiting) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
    }
    this.capacity = capacity;
    this.maxWaiting = maxWaiting;
  }

  /**
   * Blocks until the caller may run. The listener hears the position (1 = next) when the caller has to wait and
   * each time it improves; it is called without the lock held, so a slow listener delays only its own caller.
   *
   * @throws LanguageModelException {@code QUEUE_FULL} when {@code maxWaiting} callers already wait,
   *                                {@code INTERRUPTED} when the thread is interrupted while waiting
   */
  void enter(QueueListener listener) {
    Object me = new Object();
    lock.lock();
    try {
      if (waiting.isEmpty() && running < capacity) {
        running++;
        return;
      }
      if (waiting.size() >= maxWaiting) {
        throw new LanguageModelException(LanguageModelException.Kind.QUEUE_FULL,
            "the language model is busy: " + count(running, "answer is", "answers are") + " being written and "
                + count(waiting.size(), "request waits", "requests wait"),
            "try again in a few minutes (or raise heyken.llm.max-waiting)");
      }
      waiting.addLast(me);
    } finally {
      lock.unlock();
    }
    int told = 0;
    try {
      while (true) {
        int position;
        lock.lock();
        try {
          while (true) {
            if (waiting.peekFirst() == me && running < capacity) {
              waiting.removeFirst();
              running++;
              changed.signalAll(); // the next waiter moves up to position 1
              return;
            }
            position = positionOf(me);
            if (position != told) {
              break;
            }
            changed.await();
          }
        } finally {
          lock.unlock();
        }
        told = position;
        listener.onQueued(position);
      }
    } catch (InterruptedException e) {
      withdraw(me);
      Thread.currentThread().interrupt();
      throw new LanguageModelException(LanguageModelException.Kind.INTERRUPTED,
          "interrupted while waiting for a turn at the language model", "");
    } catch (RuntimeException e) {
      withdraw(me);
      throw e;
    }
  }

  /** Gives the turn back; the first waiter goes next. */
  void leave() {
    lock.lock();
    try {
      if (running == 0) {
        throw new IllegalStateException("leave() without enter()");
      }
      running--;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  QueueStatus status() {
    lock.lock();
    try {
      return new QueueStatus(running, waiting.size(), capacity);
    } finally {
      lock.unlock();
    }
  }

  private void withdraw(Object me) {
    lock.lock();
    try {
      waiting.remove(me);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private static String count(int n, String one, String many) {
    return n + " " + (n == 1 ? one : many);
  }

  private int positionOf(Object me) {
    int position = 1;
    for (Iterator<Object> it = waiting.iterator(); it.hasNext(); position++) {
      if (it.next() == me) {
        return position;
      }
    }
    throw new IllegalStateException("a waiter left the queue without being admitted");
  }
}
