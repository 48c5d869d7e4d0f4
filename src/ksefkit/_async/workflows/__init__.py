"""What people do with KSeF, built on the resources: authenticate, online sessions, ..."""
