package io.ferry.host;

import io.ferry.host.admin.StatusJson;
import io.ferry.host.config.HostConfig;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a reload changed on a running host ({@link FerryHost#reload}): guests added, removed, and changed (each
 * changed guest is restarted: its sessions end, its region is made again); host settings that differ but apply only
 * at the next start ({@code restartNeeded}); guests that could not be started ({@code errors}); and, for each guest
 * started, a line saying where its region is ({@code regions}).
 */
public record GuestChanges(List<String> added, List<String> removed, List<String> changed,
                           List<String> restartNeeded, List<String> errors, Map<String, String> regions) {

    public GuestChanges {
        added = List.copyOf(added);
        removed = List.copyOf(removed);
        changed = List.copyOf(changed);
        restartNeeded = List.copyOf(restartNeeded);
        errors = List.copyOf(errors);
        regions = Map.copyOf(regions);
    }

    /** The difference from {@code before} to {@code after}, nothing applied yet (no errors, no regions). */
    public static GuestChanges between(HostConfig before, HostConfig after) {
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (HostConfig.GuestConfig g : after.guests()) {
            HostConfig.GuestConfig old = before.guest(g.name());
            if (old == null) {
                added.add(g.name());
            } else if (!same(old, g)) {
                changed.add(g.name());
            }
        }
        for (HostConfig.GuestConfig g : before.guests()) {
            if (after.guest(g.name()) == null) {
                removed.add(g.name());
            }
        }
        List<String> host = new ArrayList<>();
        for (RecordComponent c : HostConfig.class.getRecordComponents()) {
            if (!c.getName().equals("guests") && !Objects.deepEquals(value(c, before), value(c, after))) {
                host.add(c.getName());
            }
        }
        return new GuestChanges(added, removed, changed, host, List.of(), Map.of());
    }

    /** Whether two configs of a guest are the same in every field (the secret by content). */
    public static boolean same(HostConfig.GuestConfig a, HostConfig.GuestConfig b) {
        for (RecordComponent c : HostConfig.GuestConfig.class.getRecordComponents()) {
            Object x = value(c, a);
            Object y = value(c, b);
            if (x instanceof byte[] p && y instanceof byte[] q ? !Arrays.equals(p, q) : !Objects.equals(x, y)) {
                return false;
            }
        }
        return true;
    }

    private static Object value(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName() + " of " + record.getClass(), e);
        }
    }

    /** These changes as applied: with the guests that failed and where each started guest's region is. */
    GuestChanges applied(List<String> failures, Map<String, String> started) {
        return new GuestChanges(added, removed, changed, restartNeeded, failures, new LinkedHashMap<>(started));
    }

    /** Whether nothing changed. */
    public boolean none() {
        return added.isEmpty() && removed.isEmpty() && changed.isEmpty();
    }

    /**
     * The admin socket's reply: {@code {"added": [..], "removed": [..], "changed": [..], "restart_needed": [..],
     * "errors": [..], "regions": {"NAME": "..."}}}.
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{\"added\": ");
        list(sb, added);
        sb.append(", \"removed\": ");
        list(sb, removed);
        sb.append(", \"changed\": ");
        list(sb, changed);
        sb.append(", \"restart_needed\": ");
        list(sb, restartNeeded);
        sb.append(", \"errors\": ");
        list(sb, errors);
        sb.append(", \"regions\": {");
        boolean first = true;
        for (String name : regions.keySet().stream().sorted().toList()) {
            sb.append(first ? "" : ", ").append(StatusJson.quote(name)).append(": ")
                    .append(StatusJson.quote(regions.get(name)));
            first = false;
        }
        return sb.append("}}\n").toString();
    }

    /** One line for a log: what changed, what failed, what needs a restart. */
    public String summary() {
        if (none() && errors.isEmpty() && restartNeeded.isEmpty()) {
            return "no guest changed";
        }
        StringBuilder sb = new StringBuilder();
        part(sb, "added", added);
        part(sb, "removed", removed);
        part(sb, "changed (restarted)", changed);
        part(sb, "failed", errors);
        part(sb, "changed host settings that apply at the next start", restartNeeded);
        return sb.isEmpty() ? "no guest changed" : sb.toString();
    }

    private static void part(StringBuilder sb, String what, List<String> names) {
        if (!names.isEmpty()) {
            sb.append(sb.isEmpty() ? "" : "; ").append(what).append(": ").append(String.join(", ", names));
        }
    }

    private static void list(StringBuilder sb, List<String> items) {
        sb.append('[');
        for (int i = 0; i < items.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(StatusJson.quote(items.get(i)));
        }
        sb.append(']');
    }
}
