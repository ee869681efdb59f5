import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
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
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HandshakeCompletedEvent;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A small JSSE TLS client for renego's server interop tests.
 *
 * Usage: java RenegoClient --port N --ca ca.pem [--host 127.0.0.1] [--server-name localhost]
 *        [--cert chain.pem --key key.pk8.pem] [--protocols TLSv1.2] [--ciphers A,B] STEP...
 * Steps, run in order once the first handshake completes:
 *   --line TEXT     send TEXT and a newline, read one line back (an echo server)
 *   --renegotiate   call startHandshake() again: a client-initiated renegotiation (TLS 1.2 and below)
 *   --http PATH     send "GET PATH HTTP/1.1" with Connection: close and read the response to EOF
 *
 * Every event goes to stdout, one line each:
 *   CONNECTED protocol=TLSv1.2 cipher=... peer=CN=...       (printed in order, once the first handshake is done)
 *   HANDSHAKE n=K protocol=TLSv1.2 cipher=... peer=CN=...   (K counts handshakes, so K>1 is a renegotiation;
 *                       JSSE calls its listener on another thread, so the line may come late or not before exit)
 *   REPLY line          a line read back for --line
 *   RENEGOTIATE started
 *   HTTP line           a line of the --http response
 *   ERROR ExceptionClass: message
 *   DONE                all steps ran
 * Exit code 0 after DONE, 1 after ERROR. The certificate of the server is verified against --ca
 * and its name against --server-name (JSSE's HTTPS endpoint identification).
 */
public final class RenegoClient {
  private static final Pattern PEM_BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private RenegoClient() {}

  public static void main(String[] argv) {
    try {
      run(argv);
      log("DONE");
      System.exit(0);
    } catch (Exception e) {
      log("ERROR " + e.getClass().getName() + ": " + e.getMessage());
      System.exit(1);
    }
  }

  private static void run(String[] argv) throws Exception {
    String host = "127.0.0.1";
    String serverName = "localhost";
    int port = -1;
    String ca = null;
    String cert = null;
    String key = null;
    String protocols = null;
    String ciphers = null;
    List<String[]> steps = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--host" -> host = argv[++i];
        case "--server-name" -> serverName = argv[++i];
        case "--port" -> port = Integer.parseInt(argv[++i]);
        case "--ca" -> ca = argv[++i];
        case "--cert" -> cert = argv[++i];
        case "--key" -> key = argv[++i];
        case "--protocols" -> protocols = argv[++i];
        case "--ciphers" -> ciphers = argv[++i];
        case "--line" -> steps.add(new String[] {"line", argv[++i]});
        case "--http" -> steps.add(new String[] {"http", argv[++i]});
        case "--renegotiate" -> steps.add(new String[] {"renegotiate"});
        default -> throw new IllegalArgumentException("unexpected argument " + argv[i]);
      }
    }
    if (port < 0 || ca == null) throw new IllegalArgumentException("--port and --ca are required");

    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    KeyStore trustStore = KeyStore.getInstance("PKCS12");
    trustStore.load(null, null);
    Certificate[] cas = certificates(pemBlocks(read(ca), "CERTIFICATE"));
    for (int i = 0; i < cas.length; i++) trustStore.setCertificateEntry("ca" + i, cas[i]);
    tmf.init(trustStore);

    KeyManager[] keyManagers = null;
    if (cert != null) {
      char[] password = "renego".toCharArray();
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      keyStore.load(null, null);
      keyStore.setKeyEntry(
          "client", privateKey(pemBlocks(read(key == null ? cert : key), "PRIVATE KEY").get(0)), password,
          certificates(pemBlocks(read(cert), "CERTIFICATE")));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keyStore, password);
      keyManagers = kmf.getKeyManagers();
    }

    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers, tmf.getTrustManagers(), null);
    AtomicInteger handshakes = new AtomicInteger();
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(host, port)) {
      socket.setSoTimeout(10_000);
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(serverName)));
      params.setEndpointIdentificationAlgorithm("HTTPS");
      if (protocols != null) params.setProtocols(protocols.split(","));
      if (ciphers != null) params.setCipherSuites(ciphers.split(","));
      socket.setSSLParameters(params);
      socket.addHandshakeCompletedListener(event -> log(describe(handshakes.incrementAndGet(), event)));
      socket.startHandshake();
      log("CONNECTED protocol=" + socket.getSession().getProtocol() + " cipher=" + socket.getSession().getCipherSuite()
          + " peer=" + ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName());
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = socket.getOutputStream();
      for (String[] step : steps) {
        switch (step[0]) {
          case "line" -> {
            out.write((step[1] + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            String reply = in.readLine();
            if (reply == null) throw new IOException("connection closed before a reply to " + step[1]);
            log("REPLY " + reply);
          }
          case "renegotiate" -> {
            socket.startHandshake();
            log("RENEGOTIATE started");
          }
          case "http" -> {
            String request = "GET " + step[1] + " HTTP/1.1\r\nHost: " + serverName + "\r\nConnection: close\r\n\r\n";
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line;
            while ((line = in.readLine()) != null) log("HTTP " + line);
          }
          default -> throw new IllegalStateException(step[0]);
        }
      }
    }
  }

  private static String describe(int n, HandshakeCompletedEvent event) {
    String peer;
    try {
      peer = ((X509Certificate) event.getPeerCertificates()[0]).getSubjectX500Principal().getName();
    } catch (SSLPeerUnverifiedException e) {
      peer = "none";
    }
    return "HANDSHAKE n=" + n + " protocol=" + event.getSession().getProtocol() + " cipher=" + event.getCipherSuite()
        + " peer=" + peer;
  }

  private static synchronized void log(String line) {
    System.out.println(line);
    System.out.flush();
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
    if (blocks.isEmpty()) throw new IllegalArgumentException("no " + label + " block");
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
}
