# Install rules for the system files and the Debian package (CPack DEB).
