import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HandshakeCompletedEvent;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * A small JSSE TLS server for renego's interop tests.
 *
 * Usage: java RenegoServer --port N --cert chain.pem --key key.pk8.pem [--ca ca.pem]
 *        [--protocols TLSv1.2,TLSv1.1] [--ciphers A,B] [--want-client-auth | --need-client-auth]
 *
 * Loads a PEM chain and a PKCS#8 key (RSA or EC) without keytool, listens on 127.0.0.1 only,
 * serves each connection on its own thread and echoes lines back. Every event goes to stdout,
 * one line each, so the test can read what happened:
 *   READY port=N
 *   ACCEPTED conn=C remote=...
 *   HANDSHAKE conn=C n=K protocol=TLSv1.2 cipher=... peer=CN=...|none   (K counts handshakes, so K>1 is a renegotiation)
 *   RECEIVED conn=C line=...
 *   RENEGOTIATE conn=C started                                       (server-initiated, see below)
 *   CLOSED conn=C handshakes=K
 *   ERROR conn=C ExceptionClass: message
 *
 * Lines from the client:
 *   renegotiate  the server sets needClientAuth(true) (when --ca is given) and calls startHandshake(),
 *                which on an established TLS 1.2 connection sends a HelloRequest; replies "RENEGOTIATE started".
 *   whoami       replies "PEER <subject>" or "PEER none" for the current session.
 *   anything     echoed back unchanged.
 * The commands are lower case because openssl s_client takes a line starting with Q, R, k, K or B as a
 * command of its own (R = renegotiate) instead of sending it.
 *
 * Renegotiation knobs are JSSE system properties, passed on the java command line:
 *   -Djdk.tls.rejectClientInitiatedRenegotiation=true
 *   -Dsun.security.ssl.allowUnsafeRenegotiation=true
 *   -Dsun.security.ssl.allowLegacyHelloMessages=false
 */
public final class RenegoServer {
  private static final Pattern PEM_BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  private static final AtomicInteger CONNECTIONS = new AtomicInteger();

  private RenegoServer() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parseArgs(argv);
    int port = Integer.parseInt(required(args, "port"));
    List<byte[]> certDers = pemBlocks(read(required(args, "cert")), "CERTIFICATE");
    List<byte[]> keyDers = pemBlocks(read(required(args, "key")), "PRIVATE KEY");
    if (certDers.isEmpty()) throw new IllegalArgumentException("no CERTIFICATE block in --cert");
    if (keyDers.size() != 1) throw new IllegalArgumentException("--key must hold exactly one PKCS#8 PRIVATE KEY block");

    char[] password = "renego".toCharArray();
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry("server", privateKey(keyDers.get(0)), password, certificates(certDers));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keyStore, password);

    TrustManager[] trustManagers = null;
    String caFile = args.get("ca");
    if (caFile != null) trustManagers = trustManagers(pemBlocks(read(caFile), "CERTIFICATE"));

    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), trustManagers, null);

    SSLServerSocket server =
        (SSLServerSocket) context.getServerSocketFactory().createServerSocket(port, 50, InetAddress.getByName("127.0.0.1"));
    if (args.containsKey("protocols")) server.setEnabledProtocols(args.get("protocols").split(","));
    if (args.containsKey("ciphers")) server.setEnabledCipherSuites(args.get("ciphers").split(","));
    if (args.containsKey("need-client-auth")) server.setNeedClientAuth(true);
    else if (args.containsKey("want-client-auth")) server.setWantClientAuth(true);

    log("READY port=" + server.getLocalPort() + " protocols=" + String.join(",", server.getEnabledProtocols()));
    boolean clientAuthPossible = trustManagers != null;
    while (true) {
      SSLSocket socket = (SSLSocket) server.accept();
      int id = CONNECTIONS.incrementAndGet();
      Thread thread = new Thread(() -> serve(socket, id, clientAuthPossible), "conn-" + id);
      thread.setDaemon(true);
      thread.start();
    }
  }

  private static void serve(SSLSocket socket, int id, boolean clientAuthPossible) {
    AtomicInteger handshakes = new AtomicInteger();
    log("ACCEPTED conn=" + id + " remote=" + socket.getRemoteSocketAddress());
    socket.addHandshakeCompletedListener(event -> log(describeHandshake(id, handshakes.incrementAndGet(), event)));
    try (socket) {
      socket.startHandshake();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = socket.getOutputStream();
      String line;
      while ((line = in.readLine()) != null) {
        log("RECEIVED conn=" + id + " line=" + line);
        String reply = line;
        if (line.equals("renegotiate")) {
          if (clientAuthPossible) socket.setNeedClientAuth(true);
          socket.startHandshake();
          log("RENEGOTIATE conn=" + id + " started");
          reply = "RENEGOTIATE started";
        } else if (line.equals("whoami")) {
          reply = "PEER " + peerSubject(socket);
        }
        out.write((reply + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } catch (Exception e) {
      log("ERROR conn=" + id + " " + e.getClass().getName() + ": " + e.getMessage());
    } finally {
      log("CLOSED conn=" + id + " handshakes=" + handshakes.get());
    }
  }

  private static String describeHandshake(int id, int n, HandshakeCompletedEvent event) {
    String peer;
    try {
      peer = ((X509Certificate) event.getPeerCertificates()[0]).getSubjectX500Principal().getName();
    } catch (SSLPeerUnverifiedException e) {
      peer = "none";
    }
    return "HANDSHAKE conn=" + id + " n=" + n + " protocol=" + event.getSession().getProtocol() + " cipher="
        + event.getCipherSuite() + " peer=" + peer;
  }

  private static String peerSubject(SSLSocket socket) {
    try {
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    } catch (SSLPeerUnverifiedException e) {
      return "none";
    }
  }

  private static synchronized void log(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + argv[i]);
      String name = argv[i].substring(2);
      boolean isFlag = name.endsWith("client-auth");
      args.put(name, isFlag ? "true" : argv[++i]);
    }
    return args;
  }

  private static String required(Map<String, String> args, String name) {
    String value = args.get(name);
    if (value == null) throw new IllegalArgumentException("missing --" + name);
    return value;
  }

  private static String read(String file) throws IOException {
    return Files.readString(Path.of(file), StandardCharsets.US_ASCII);
  }

  private static List<byte[]> pemBlocks(String pem, String label) {
    List<byte[]> blocks = new ArrayList<>();
    Matcher m = PEM_BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals(label)) blocks.add(Base64.getMimeDecoder().decode(m.group(2)));
    }
    return blocks;
  }

  private static Certificate[] certificates(List<byte[]> ders) throws Exception {
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    Certificate[] chain = new Certificate[ders.size()];
    for (int i = 0; i < ders.size(); i++) chain[i] = factory.generateCertificate(new ByteArrayInputStream(ders.get(i)));
    return chain;
  }

  /** PKCS#8 names its algorithm inside, but KeyFactory wants it up front: try each we issue. */
  private static PrivateKey privateKey(byte[] pkcs8) throws Exception {
    Exception last = null;
    for (String algorithm : new String[] {"RSA", "EC"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      } catch (Exception e) {
        last = e;
      }
    }
    throw new IllegalArgumentException("unsupported PKCS#8 key", last);
  }

  private static TrustManager[] trustManagers(List<byte[]> caDers) throws Exception {
    KeyStore trustStore = KeyStore.getInstance("PKCS12");
    trustStore.load(null, null);
    Certificate[] cas = certificates(caDers);
    for (int i = 0; i < cas.length; i++) trustStore.setCertificateEntry("ca" + i, cas[i]);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trustStore);
    return tmf.getTrustManagers();
  }
}
