package heyken.actors.services;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/** An engine in memory: containers as records, every mutating call written down in order. */
public final class FakeServiceEngine implements ServiceEngine {

  public final Map<String, Observed> containers = new ConcurrentHashMap<>();
  public final Map<String, String> installationOf = new ConcurrentHashMap<>();
  public final List<String> calls = new CopyOnWriteArrayList<>();
  public final AtomicInteger lists = new AtomicInteger();
  /** The specs the containers were created from, as the engine got them. */
  public final List<ServiceSpec> created = new CopyOnWriteArrayList<>();
  private final AtomicInteger ids = new AtomicInteger();
  private long clock = 1000;

  /** A container that exists before the reconciler looks (left by an earlier active core, say). */
  public synchronized String add(String service, String installation, String specHash, String state, Long exitCode) {
    String id = "c" + ids.incrementAndGet();
    containers.put(id, new Observed(id, service, specHash, state, "none", exitCode, "2026-01-01T00:00:00Z", clock++));
    installationOf.put(id, installation);
    return id;
  }

  public synchronized void setState(String id, String state, Long exitCode) {
    var o = containers.get(id);
    containers.put(id, new Observed(id, o.service(), o.specHash(), state, o.health(), exitCode, o.startedAt(),
        o.createdSeconds()));
  }

  public List<String> idsOf(String service) {
    return containers.values().stream().filter(o -> service.equals(o.service())).map(Observed::id).toList();
  }

  @Override
  public synchronized List<Observed> list(String installationId) {
    lists.incrementAndGet();
    var result = new ArrayList<Observed>();
    containers.forEach((id, o) -> {
      if (installationId.equals(installationOf.get(id))) {
        result.add(o);
      }
    });
    return result;
  }

  @Override
  public synchronized String create(ServiceSpec spec, String installationId, String network) {
    calls.add("create " + spec.name());
    created.add(spec);
    String id = add(spec.name(), installationId, spec.hash(), "created", null);
    return id;
  }

  @Override
  public synchronized void start(String containerId) {
    calls.add("start " + containerId);
    setState(containerId, "running", null);
  }

  @Override
  public synchronized void stop(String containerId) {
    calls.add("stop " + containerId);
    setState(containerId, "exited", 143L);
  }

  @Override
  public synchronized void restart(String containerId) {
    calls.add("restart " + containerId);
    setState(containerId, "running", null);
  }

  @Override
  public synchronized void remove(String containerId) {
    calls.add("remove " + containerId);
    containers.remove(containerId);
    installationOf.remove(containerId);
  }

  @Override
  public boolean imageExists(String image) {
    return image.startsWith("sandbox/");
  }

  @Override
  public boolean networkExists(String network) {
    return true;
  }

  @Override
  public Closeable logs(String containerId, int tail, boolean follow, Consumer<String> line, Runnable completed) {
    completed.run();
    return () -> {};
  }
}
