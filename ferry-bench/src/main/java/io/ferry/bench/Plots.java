package io.ferry.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** Small PNG line plots (java.awt, headless): no plotting dependency for two figures. */
final class Plots {
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0x9467bd), new Color(0xff7f0e)};
    private static final int W = 900;
    private static final int H = 560;
    private static final int L = 80;
    private static final int R = 30;
    private static final int T = 50;
    private static final int B = 70;

    private Plots() {
    }

    /** Empirical CDFs of nanosecond samples, x in ms, with a vertical line at {@code deadlineMs}. */
    static void cdf(Path file, String title, List<String> names, List<long[]> samples, double deadlineMs)
            throws IOException {
        double xmax = deadlineMs * 1.2;
        for (long[] s : samples) {
            for (long v : s) {
                xmax = Math.max(xmax, v / 1e6);
            }
        }
        xmax = Math.min(xmax, deadlineMs * 4);
        BufferedImage img = canvas();
        Graphics2D g = graphics(img);
        axes(g, title, "response time (ms)", "fraction of frames", 0, xmax, 0, 1);
        for (int k = 0; k < samples.size(); k++) {
            long[] s = samples.get(k).clone();
            Arrays.sort(s);
            g.setColor(COLORS[k % COLORS.length]);
            g.setStroke(new BasicStroke(2f));
            int px = L;
            int py = y(0, 0, 1);
            for (int i = 0; i < s.length; i++) {
                int nx = x(Math.min(s[i] / 1e6, xmax), 0, xmax);
                int ny = y((i + 1.0) / s.length, 0, 1);
                g.drawLine(px, py, nx, py);
                g.drawLine(nx, py, nx, ny);
                px = nx;
                py = ny;
            }
            legend(g, k, names.get(k));
        }
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 6}, 0));
        int dx = x(deadlineMs, 0, xmax);
        g.drawLine(dx, T, dx, H - B);
        g.drawString("deadline", dx + 4, T + 14);
        write(img, file);
    }

    /** Shares (0..1) of several tenants per window. */
    static void shares(Path file, String title, List<String> names, List<double[]> windows) throws IOException {
        BufferedImage img = canvas();
        Graphics2D g = graphics(img);
        int n = Math.max(1, windows.size());
        axes(g, title, "time (s)", "share", 0, n, 0, 1);
        for (int k = 0; k < names.size(); k++) {
            g.setColor(COLORS[k % COLORS.length]);
            g.setStroke(new BasicStroke(2f));
            for (int i = 1; i < windows.size(); i++) {
                g.drawLine(x(i - 0.5, 0, n), y(windows.get(i - 1)[k], 0, 1), x(i + 0.5, 0, n),
                        y(windows.get(i)[k], 0, 1));
            }
            legend(g, k, names.get(k));
        }
        g.setColor(Color.GRAY);
        int fair = y(1.0 / names.size(), 0, 1);
        g.drawLine(L, fair, W - R, fair);
        write(img, file);
    }

    private static BufferedImage canvas() {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.dispose();
        return img;
    }

    private static Graphics2D graphics(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        return g;
    }

    private static void axes(Graphics2D g, String title, String xl, String yl, double x0, double x1, double y0,
                             double y1) {
        g.setColor(Color.BLACK);
        g.drawRect(L, T, W - L - R, H - T - B);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, L, T - 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        for (int i = 0; i <= 5; i++) {
            double xv = x0 + (x1 - x0) * i / 5;
            double yv = y0 + (y1 - y0) * i / 5;
            g.drawString(String.format(Locale.ROOT, "%.1f", xv), x(xv, x0, x1) - 10, H - B + 18);
            g.drawString(String.format(Locale.ROOT, "%.2f", yv), L - 42, y(yv, y0, y1) + 5);
        }
        g.drawString(xl, W / 2 - 40, H - 20);
        g.drawString(yl, 8, T - 4);
    }

    private static void legend(Graphics2D g, int k, String name) {
        int ly = T + 20 + 18 * k;
        g.fillRect(W - R - 150, ly - 9, 18, 4);
        g.drawString(name, W - R - 125, ly - 3);
    }

    private static int x(double v, double x0, double x1) {
        return (int) Math.round(L + (v - x0) / (x1 - x0) * (W - L - R));
    }

    private static int y(double v, double y0, double y1) {
        return (int) Math.round(H - B - (v - y0) / (y1 - y0) * (H - T - B));
    }

    private static void write(BufferedImage img, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        ImageIO.write(img, "png", file.toFile());
    }
}
