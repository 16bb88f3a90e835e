# Install rules for the system files, and the Debian package built by CPack.
#
#   packaging/build-deb.sh            configure build/deb, build, run cpack
#   cpack -G DEB --config BUILD/CPackConfig.cmake     from a built tree
#
# Destinations are relative to the install prefix; the package's prefix is
# /usr whatever CMAKE_INSTALL_PREFIX says (CPACK_PACKAGING_INSTALL_PREFIX),
# so the .deb holds /usr/sbin/isergw, /usr/lib/systemd/system/isergw.service,
# /usr/lib/modules-load.d/isergw.conf and /usr/share/man/man8/isergw.8.gz.
set(ISERGW_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(FILES ${ISERGW_PACKAGING_DIR}/systemd/isergw.service DESTINATION lib/systemd/system)
install(FILES ${ISERGW_PACKAGING_DIR}/modules-load.d/isergw.conf DESTINATION lib/modules-load.d)

# The man page, compressed as Debian policy wants it (-n: no name or time
# stamp inside, so the package is reproducible).
set(ISERGW_MAN_GZ ${PROJECT_BINARY_DIR}/packaging/isergw.8.gz)
add_custom_command(
  OUTPUT ${ISERGW_MAN_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND gzip -9 -n -c ${ISERGW_PACKAGING_DIR}/man/isergw.8 > ${ISERGW_MAN_GZ}
  DEPENDS ${ISERGW_PACKAGING_DIR}/man/isergw.8
  COMMENT "Compressing isergw.8"
  VERBATIM)
add_custom_target(isergw_man ALL DEPENDS ${ISERGW_MAN_GZ})
install(FILES ${ISERGW_MAN_GZ} DESTINATION share/man/man8)

# cpack (and `install`) take what is built instead of building every test
# binary first: packaging/build-deb.sh builds the installed targets itself.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME isergw)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "isergw")
set(CPACK_PACKAGE_CONTACT "isergw maintainers <isergw@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "iSCSI and iSER initiator serving remote LUNs as ublk block devices")
# CPack puts the summary on the Description: line and this below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "isergw is an iSCSI initiator (RFC 7143) in user space with an io_uring TCP
transport and an iSER (RFC 7145) transport on RDMA. It serves a remote LUN
as a local block device through the kernel's ublk driver (/dev/ublkbN) or
NBD client, kept by a daemon that survives restarts through ublk user
recovery. It also discovers targets, copies images and benchmarks LUNs.
`isergw doctor` checks what the host needs.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # isergw_VERSION_ARCH.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Library dependencies from the binary (dpkg-shlibdeps), plus the tools the
# maintainer scripts use.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")
# libibverbs finds RDMA devices only through a provider (rxe, mlx5, ...);
# kmod's modprobe loads ublk_drv.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ibverbs-providers, kmod")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rdma-core, iproute2, open-iscsi")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${ISERGW_PACKAGING_DIR}/debian/postinst
    ${ISERGW_PACKAGING_DIR}/debian/prerm
    ${ISERGW_PACKAGING_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
