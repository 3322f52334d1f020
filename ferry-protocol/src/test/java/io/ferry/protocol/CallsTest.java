package io.ferry.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The named views in {@link Calls} must follow the {@link Op} catalogue: names, order and count of arguments. */
class CallsTest {

    private static Map<Op, CallRecord> views() throws Exception {
        Map<Op, CallRecord> out = new EnumMap<>(Op.class);
        List<Class<?>> all = new ArrayList<>(List.of(Calls.class.getDeclaredClasses()));
        all.addAll(List.of(EventCalls.class.getDeclaredClasses()));
        all.addAll(List.of(MemoryCalls.class.getDeclaredClasses()));
        all.addAll(List.of(ProgramCalls.class.getDeclaredClasses()));
        for (Class<?> c : all) {
            if (CallRecord.class.isAssignableFrom(c) && !Modifier.isAbstract(c.getModifiers())) {
                CallRecord v = (CallRecord) c.getConstructor().newInstance();
                assertNull(out.put(v.spec(), v), "two views for " + v.spec());
            }
        }
        return out;
    }

    /** The index constants of a view, declared by it or a shape it shares (not CallRecord's offsets). */
    private static List<Field> indexConstants(Class<?> view) {
        List<Field> out = new ArrayList<>();
        for (Class<?> c = view; c != CallRecord.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                int m = f.getModifiers();
                if (Modifier.isStatic(m) && Modifier.isPublic(m) && f.getType() == int.class
                        && !f.getName().startsWith("MAX_")) {
                    out.add(f);
                }
            }
        }
        out.sort(Comparator.comparingInt(CallsTest::value));
        return out;
    }

    private static int value(Field f) {
        try {
            return f.getInt(null);
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void everyOpHasAView() throws Exception {
        Map<Op, CallRecord> views = views();
        for (Op op : Op.values()) {
            assertNotNull(views.get(op), op + " has no view in Calls");
        }
    }

    @Test
    void viewIndicesFollowTheCatalogue() throws Exception {
        for (Map.Entry<Op, CallRecord> e : views().entrySet()) {
            Op op = e.getKey();
            List<Field> fields = indexConstants(e.getValue().getClass());
            List<String> names = op.argNames();
            assertEquals(names.size(), fields.size(), op + ": the view has " + fields.size() + " index constants, the "
                    + "catalogue " + names.size() + " arguments");
            for (int i = 0; i < names.size(); i++) {
                String want = names.get(i).toUpperCase(Locale.ROOT).replace(' ', '_');
                assertEquals(want, fields.get(i).getName(), op + " argument " + i);
                assertEquals(i, value(fields.get(i)), op + "." + want);
            }
        }
    }

    @Test
    void viewsNameEveryArgument() throws Exception {
        for (Map.Entry<Op, CallRecord> e : views().entrySet()) {
            Class<?> c = e.getValue().getClass();
            for (String name : e.getKey().argNames()) {
                // "flags" is the call header's: the argument is named for what it flags
                String camel = camel(!name.equals("flags") ? name
                        : e.getKey() == Op.QUEUE_CREATE ? "queue flags" : "memory flags");
                boolean indexed = Character.isDigit(camel.charAt(camel.length() - 1));
                if (indexed) {
                    c.getMethod(camel.substring(0, camel.length() - 1), int.class);
                    c.getMethod(camel.substring(0, camel.length() - 1), int.class, long.class);
                } else {
                    assertEquals(long.class, c.getMethod(camel).getReturnType(), e.getKey() + "." + camel);
                    assertTrue(c.getMethod(camel, long.class).getReturnType().isAssignableFrom(c), e.getKey() + "." + camel);
                }
            }
        }
    }

    private static String camel(String name) {
        String[] w = name.split(" ");
        StringBuilder b = new StringBuilder(w[0]);
        for (int i = 1; i < w.length; i++) {
            b.append(Character.toUpperCase(w[i].charAt(0))).append(w[i].substring(1));
        }
        return b.toString();
    }

    @Test
    void aLaunchWrittenIsReadBackByName() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(256);
            int length = CallRecord.length(Op.LAUNCH, 0);
            s.set(CallRecord.INT, CallRecord.LENGTH_OFFSET, length);
            s.set(CallRecord.INT, CallRecord.OP_OFFSET, Op.LAUNCH.code());
            Calls.Launch w = new Calls.Launch().wrap(s, 0);
            w.header(7, Wire.FLAG_REPLY, 0);
            w.queue(11).kernel(12).range(2, null, new long[] {64, 32}, new long[] {8, 4}).event(13);
            Calls.Launch r = new Calls.Launch().wrap(s, 0);
            assertNull(r.problem(length));
            assertEquals(7, r.seq());
            assertTrue(r.wantsReply());
            assertEquals(11, r.queue());
            assertEquals(12, r.kernel());
            assertEquals(2, r.dimensions());
            assertNull(r.offsets(2));
            assertEquals(32, r.globals(2)[1]);
            assertEquals(4, r.locals(2)[1]);
            assertEquals(0, r.global(2));
            assertEquals(13, r.event());
            assertEquals(13, new CallRecord().wrap(s, 0).arg(Calls.Launch.EVENT));
            assertNotNull(r.problem(length + 8), "a record longer than its call is refused");
        }
    }

    @Test
    void aCompletionIsFramedAndReadBack() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(256);
            byte[] text = Wire.utf8("log");
            CompletionRecord c = new CompletionRecord().wrap(s, 0).put(9, Status.BUILD_FAILED.code(), 1, 2, 3, 4,
                    text, text.length);
            assertNull(c.problem(CompletionRecord.length(text.length)));
            assertNotNull(c.problem(CompletionRecord.HEADER_LENGTH + 1));
            assertEquals(9, c.seq());
            assertEquals(Status.BUILD_FAILED, c.knownStatus());
            assertEquals(3, c.result(2));
            assertEquals("log", c.text());
            s.set(CallRecord.INT, CompletionRecord.STATUS_OFFSET, 999);
            assertNull(c.knownStatus());
        }
    }
}
