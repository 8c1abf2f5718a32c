(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $inst (export "interests" (func $f)))
  (export "interpose:interceptor/client@0.5.0" (instance $inst)))
